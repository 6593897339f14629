//! The znode tree's invariants, checked by the `state_machine` target after each step.

use std::collections::{BTreeMap, BTreeSet};

use ferrokeeper::state_machine::tree::{DataTree, NodeKind};

pub fn check_invariants(tree: &DataTree, step: usize) {
    let mut nodes = BTreeMap::new();
    tree.walk(|path, node| {
        nodes.insert(path.to_owned(), node.clone());
    });
    let mut ephemerals: BTreeMap<i64, BTreeSet<String>> = BTreeMap::new();
    for (path, node) in &nodes {
        let stat = node.stat();
        // numChildren is the number of children, each of which exists.
        assert_eq!(
            stat.num_children as usize,
            node.children.len(),
            "{path} at step {step}"
        );
        for child in node.children.keys() {
            let child_path = if path == "/" {
                format!("/{child}")
            } else {
                format!("{path}/{child}")
            };
            assert!(
                nodes.contains_key(&child_path),
                "{child_path} listed but missing, step {step}"
            );
        }
        // Every node but the root is listed by its parent.
        if path != "/" {
            let (parent, name) = path.rsplit_once('/').unwrap();
            let parent = if parent.is_empty() { "/" } else { parent };
            let listed = nodes
                .get(parent)
                .is_some_and(|p| p.children.contains_key(name));
            assert!(
                listed,
                "{path} not listed by its parent {parent}, step {step}"
            );
        }
        // The internal counter counts child creates; the visible cversion counts
        // creates and deletes: 2 * creates - present, never below what is present.
        // (The built-in /zookeeper subtree was never "created": the root starts one
        // short, as ZooKeeper's root shows cversion -1.)
        let internal = node.stat.cversion;
        let builtin = match path.as_str() {
            "/" => 1,
            p if p.starts_with("/zookeeper") => stat.num_children,
            _ => 0,
        };
        assert_eq!(
            stat.cversion,
            internal.wrapping_mul(2).wrapping_sub(stat.num_children)
        );
        assert!(
            internal + builtin >= stat.num_children,
            "{path}: cversion {internal} < children, step {step}"
        );
        if let NodeKind::Ephemeral(owner) = node.kind() {
            assert!(node.children.is_empty(), "ephemeral {path} has children");
            ephemerals.entry(owner).or_default().insert(path.clone());
        }
    }
    // The ephemeral index lists exactly the ephemeral nodes, by owner.
    let indexed: BTreeMap<i64, BTreeSet<String>> = tree
        .all_ephemerals()
        .filter(|(_, paths)| !paths.is_empty())
        .map(|(session, paths)| (session, paths.clone()))
        .collect();
    assert_eq!(indexed, ephemerals, "ephemeral index at step {step}");
}
