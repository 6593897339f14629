//! How the dump tools spell things: zxids and session ids in hex, times in ISO-8601
//! UTC with the raw milliseconds, data as a short escaped preview, ACLs the way
//! zkCli's `setAcl` takes them (`scheme:id:perms`).

use std::fmt::Write as _;

use ferrokeeper_protocol::records::Acl;
use ferrokeeper_protocol::{ErrorCode, Perms};

use crate::state_machine::tree::NodeKind;

/// Bytes of data shown in a one-line preview.
pub const PREVIEW_BYTES: usize = 32;

/// `0x` and lower-case hex digits; negative values as their two's complement, as
/// ZooKeeper prints session ids.
pub fn hex(value: i64) -> String {
    format!("0x{value:x}")
}

/// `2024-05-01T12:00:00.123Z (1714564800123)`.
pub fn time(ms: i64) -> String {
    format!("{} ({ms})", iso8601(ms))
}

/// Milliseconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SS.mmmZ` (proleptic
/// Gregorian, UTC; years outside 0..=9999 get as many digits as they need).
pub fn iso8601(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let in_day = ms.rem_euclid(86_400_000);
    let (year, month, day) = crate::time::civil_from_days(days);
    let (secs, millis) = (in_day / 1000, in_day % 1000);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// `null`, or the length and an escaped preview of at most `limit` bytes:
/// `5 bytes "hello"`, `40 bytes "0123456789abcdef0123456789abcdef"...`.
pub fn data(data: Option<&[u8]>, limit: usize) -> String {
    match data {
        None => "null".to_owned(),
        Some(bytes) => {
            let shown = &bytes[..bytes.len().min(limit)];
            let more = if bytes.len() > shown.len() { "..." } else { "" };
            let unit = if bytes.len() == 1 { "byte" } else { "bytes" };
            format!("{} {unit} \"{}\"{more}", bytes.len(), shown.escape_ascii())
        }
    }
}

/// zkCli's permission letters, in its order (`cdrwa`); `-` for none; unknown bits
/// as `+0x..`.
pub fn perms(perms: i32) -> String {
    let mut out = String::new();
    for (bit, letter) in [
        (Perms::CREATE, 'c'),
        (Perms::DELETE, 'd'),
        (Perms::READ, 'r'),
        (Perms::WRITE, 'w'),
        (Perms::ADMIN, 'a'),
    ] {
        if perms & bit != 0 {
            out.push(letter);
        }
    }
    let unknown = perms & !Perms::ALL;
    if unknown != 0 {
        let _ = write!(out, "+0x{unknown:x}");
    }
    if out.is_empty() {
        out.push('-');
    }
    out
}

/// `[world:anyone:cdrwa, digest:bob:x=:r]`.
pub fn acl(acl: &[Acl]) -> String {
    let entries: Vec<String> = acl
        .iter()
        .map(|a| format!("{}:{}:{}", a.id.scheme, a.id.id, perms(a.perms)))
        .collect();
    format!("[{}]", entries.join(", "))
}

/// What an ephemeral-owner value means: `persistent`, `ephemeral 0x..`,
/// `container`, `ttl 5000ms`.
pub fn owner(ephemeral_owner: i64) -> String {
    match NodeKind::from_owner(ephemeral_owner) {
        NodeKind::Persistent => "persistent".to_owned(),
        NodeKind::Ephemeral(session) => format!("ephemeral owner={}", hex(session)),
        NodeKind::Container => "container".to_owned(),
        NodeKind::Ttl(ttl) => format!("ttl={ttl}ms"),
    }
}

/// `1 session`, `2 sessions`.
pub fn count(n: usize, thing: &str) -> String {
    if n == 1 {
        format!("1 {thing}")
    } else {
        format!("{n} {thing}s")
    }
}

/// `NoNode (-101)`.
pub fn error(code: ErrorCode) -> String {
    format!("{code:?} ({})", code.code())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_iso8601_utc() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601(1_714_564_800_123), "2024-05-01T12:00:00.123Z");
        assert_eq!(iso8601(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(iso8601(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(
            time(1_700_000_000_000),
            "2023-11-14T22:13:20.000Z (1700000000000)"
        );
        // Nonsense times still print.
        assert!(iso8601(i64::MAX).ends_with('Z'));
        assert!(iso8601(i64::MIN).ends_with('Z'));
    }

    #[test]
    fn data_previews_are_escaped_and_bounded() {
        assert_eq!(data(None, 8), "null");
        assert_eq!(data(Some(b""), 8), "0 bytes \"\"");
        assert_eq!(data(Some(b"x"), 8), "1 byte \"x\"");
        assert_eq!(
            data(Some(b"a\"b\n\x00\xff"), 8),
            "6 bytes \"a\\\"b\\n\\x00\\xff\""
        );
        assert_eq!(data(Some(b"0123456789"), 4), "10 bytes \"0123\"...");
    }

    #[test]
    fn acls_read_like_zkcli() {
        assert_eq!(perms(Perms::ALL), "cdrwa");
        assert_eq!(perms(Perms::READ | Perms::ADMIN), "ra");
        assert_eq!(perms(0), "-");
        assert_eq!(perms(Perms::READ | 0x40), "r+0x40");
        assert_eq!(
            acl(&[
                Acl::new(Perms::ALL, "world", "anyone"),
                Acl::new(Perms::READ, "digest", "bob:x=")
            ]),
            "[world:anyone:cdrwa, digest:bob:x=:r]"
        );
        assert_eq!(acl(&[]), "[]");
    }

    #[test]
    fn ids_and_owners() {
        assert_eq!(hex(0x1_0000_0002), "0x100000002");
        assert_eq!(hex(-1), "0xffffffffffffffff");
        assert_eq!(owner(0), "persistent");
        assert_eq!(
            owner(0x0100_0000_0000_0001),
            "ephemeral owner=0x100000000000001"
        );
        assert_eq!(owner(i64::MIN), "container");
        assert_eq!(
            owner(crate::state_machine::tree::node::TTL_OWNER_MARK | 5000),
            "ttl=5000ms"
        );
        assert_eq!(error(ErrorCode::NoNode), "NoNode (-101)");
        assert_eq!(count(1, "znode"), "1 znode");
        assert_eq!(count(0, "znode"), "0 znodes");
    }
}
