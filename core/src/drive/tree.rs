//! Walking Drive's folder tree upwards: the one place that follows `parents`.
//!
//! Everything that needs a file's folders (the policy decision, paths, scope, the ancestors to
//! fetch) goes through [`ancestors`], so a cycle in what Drive or the database says, or an
//! absurdly deep tree, is handled once and the same way everywhere.

use std::collections::HashSet;

/// The most folders followed above an item. Drive's own limit is 100 levels of nesting; this
/// leaves room and still ends a walk through corrupt data quickly.
pub const MAX_DEPTH: usize = 1000;

/// The folders above an item, nearest first: `first_parent`, its parent, and so on while
/// `parent_of` knows a parent. The last entry is the topmost folder reached, which may itself
/// be unknown to `parent_of` (My Drive's root, a shared drive, a folder shared with the user).
/// A folder seen twice (a cycle) or a chain longer than [`MAX_DEPTH`] ends the walk.
pub fn ancestors<'a>(first_parent: Option<&'a str>, parent_of: impl Fn(&str) -> Option<&'a str>) -> Vec<&'a str> {
    let mut chain = Vec::new();
    let mut seen = HashSet::new();
    let mut next = first_parent;
    while let Some(id) = next {
        if chain.len() >= MAX_DEPTH || !seen.insert(id) {
            break;
        }
        chain.push(id);
        next = parent_of(id);
    }
    chain
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn walk<'a>(parents: &'a HashMap<String, String>, start: &'a str) -> Vec<&'a str> {
        ancestors(parents.get(start).map(String::as_str), |id| parents.get(id).map(String::as_str))
    }

    #[test]
    fn the_chain_goes_up_to_the_topmost_folder_reached() {
        let parents: HashMap<String, String> =
            [("file", "b"), ("b", "a"), ("a", "root")].iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        assert_eq!(walk(&parents, "file"), ["b", "a", "root"]);
        assert_eq!(walk(&parents, "root"), Vec::<&str>::new());
    }

    #[test]
    fn a_cycle_ends_the_walk_with_each_folder_once() {
        let parents: HashMap<String, String> =
            [("file", "a"), ("a", "b"), ("b", "a")].iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        assert_eq!(walk(&parents, "file"), ["a", "b"]);
        let own: HashMap<String, String> = [("x".to_string(), "x".to_string())].into();
        assert_eq!(walk(&own, "x"), ["x"]);
    }

    #[test]
    fn a_very_deep_tree_is_cut_at_the_limit() {
        let parents: HashMap<String, String> =
            (0..5 * MAX_DEPTH).map(|i| (format!("f{i}"), format!("f{}", i + 1))).collect();
        let chain = walk(&parents, "f0");
        assert_eq!(chain.len(), MAX_DEPTH);
        assert_eq!(chain[0], "f1");
    }
}
