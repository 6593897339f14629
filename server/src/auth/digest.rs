//! The `digest` scheme: `user:base64(sha1("user:password"))`.

use base64::Engine;
use sha1::{Digest, Sha1};

/// DigestAuthenticationProvider.generateDigest.
pub fn generate(user_password: &str) -> String {
    let user = user_password.split(':').next().unwrap_or_default();
    let hash = Sha1::digest(user_password.as_bytes());
    format!(
        "{user}:{}",
        base64::engine::general_purpose::STANDARD.encode(hash)
    )
}

/// Valid digest ids split into exactly two parts at ':' the way Java's
/// `String.split(":")` does (trailing empty parts dropped).
pub fn is_valid(id: &str) -> bool {
    let mut parts: Vec<&str> = id.split(':').collect();
    while parts.last() == Some(&"") {
        parts.pop();
    }
    parts.len() == 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_matches_zookeeper() {
        // Value produced by ZooKeeper's DigestAuthenticationProvider.generateDigest.
        assert_eq!(generate("super:test"), "super:D/InIHSb7yEEbrWz8b9l71RjZJU=");
        assert!(is_valid("bob:abc="));
        assert!(!is_valid("bob:"));
        assert!(!is_valid("a:b:c"));
    }
}
