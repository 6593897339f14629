//! ZooKeeper's path rules (PathUtils.validatePath) and path arithmetic.

/// Why a path is not a valid znode path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidPath(pub &'static str);

/// Validates a full path as ZooKeeper does before create, setData, setACL and check.
/// Characters are judged as Java judges UTF-16 units, so anything outside the Basic
/// Multilingual Plane (a surrogate pair in Java) is refused.
pub fn validate_path(path: &str) -> Result<(), InvalidPath> {
    if path.is_empty() {
        return Err(InvalidPath("path length must be > 0"));
    }
    if !path.starts_with('/') {
        return Err(InvalidPath("path must start with / character"));
    }
    if path == "/" {
        return Ok(());
    }
    if path.ends_with('/') {
        return Err(InvalidPath("path must not end with / character"));
    }
    for component in path[1..].split('/') {
        match component {
            "" => return Err(InvalidPath("empty node name specified")),
            "." | ".." => return Err(InvalidPath("relative paths not allowed")),
            _ => {}
        }
        if component.chars().any(is_forbidden_char) {
            return Err(InvalidPath("invalid character"));
        }
    }
    Ok(())
}

fn is_forbidden_char(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}'
        | '\u{7f}'..='\u{9f}'
        | '\u{e000}'..='\u{f8ff}'
        | '\u{fff0}'..='\u{ffff}')
        || c > '\u{ffff}'
}

/// Splits a path into its parent and last component the way ZooKeeper does: at the
/// last '/'. The parent of "/a" is "/" (ZooKeeper's ""), and a path without a '/'
/// has none.
pub fn split_parent(path: &str) -> Option<(&str, &str)> {
    let idx = path.rfind('/')?;
    let parent = if idx == 0 { "/" } else { &path[..idx] };
    Some((parent, &path[idx + 1..]))
}

/// Joins a parent path and a child name.
pub fn join(parent: &str, name: &str) -> String {
    let mut path = String::with_capacity(parent.len() + 1 + name.len());
    path.push_str(parent);
    if !parent.ends_with('/') {
        path.push('/');
    }
    path.push_str(name);
    path
}

/// The paths ZooKeeper refuses to delete.
pub fn is_special(path: &str) -> bool {
    matches!(
        path,
        "/" | "/zookeeper" | "/zookeeper/quota" | "/zookeeper/config"
    )
}

/// `path` itself, then each ancestor up to and including "/".
pub fn self_and_ancestors(path: &str) -> impl Iterator<Item = &str> {
    let mut next = Some(path);
    std::iter::from_fn(move || {
        let current = next?;
        next = if current == "/" {
            None
        } else {
            split_parent(current).map(|(parent, _)| parent)
        };
        Some(current)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_and_invalid_paths_follow_zookeeper() {
        for ok in ["/", "/a", "/a/b", "/...", "/.a", "/a.", "/zookeeper", "/é"] {
            assert_eq!(validate_path(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "a",
            "/a/",
            "//",
            "/a//b",
            "/.",
            "/..",
            "/a/./b",
            "/a/..",
            "/a\u{0}b",
            "/a\u{1}",
            "/\u{7f}",
            "/\u{e000}",
            "/\u{fff0}",
            "/😀",
        ] {
            assert!(validate_path(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn parents_are_split_at_the_last_slash() {
        assert_eq!(split_parent("/a"), Some(("/", "a")));
        assert_eq!(split_parent("/a/b"), Some(("/a", "b")));
        assert_eq!(split_parent("/"), Some(("/", "")));
        assert_eq!(split_parent("a"), None);
        assert_eq!(
            self_and_ancestors("/a/b").collect::<Vec<_>>(),
            vec!["/a/b", "/a", "/"]
        );
    }
}
