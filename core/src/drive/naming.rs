//! Drive names → remote object names.
//!
//! Drive names are untrusted: they may contain `/`, be `..`, collide case-insensitively or
//! repeat exactly within one folder. Each path component is sanitised on its own, duplicates
//! get a deterministic suffix from the file ID, and names once given are kept (the mapping is
//! stored), so later runs never rename what is already at a destination.

use std::collections::HashSet;

use unicode_normalization::UnicodeNormalization;

const MAX_COMPONENT_BYTES: usize = 200;

/// Makes one Drive name safe as one path component on every destination.
pub fn sanitize_component(name: &str) -> String {
    let normalized: String = name.nfc().collect();
    let mut out: String = normalized
        .chars()
        .map(|c| match c {
            '/' | '\\' | '<' | '>' | ':' | '"' | '|' | '?' | '*' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    if out.is_empty() || out.chars().all(|c| c == '.') {
        out = "_".repeat(out.len().max(1));
    }
    // Trailing dots and spaces vanish on some filesystems; keep the name distinct.
    if out.ends_with('.') || out.ends_with(' ') {
        out.pop();
        out.push('_');
    }
    let (stem, ext) = split_extension(&out);
    const RESERVED: &[&str] = &[
        "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9", "LPT1",
        "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
    ];
    if RESERVED.contains(&stem.to_ascii_uppercase().as_str()) {
        out = format!("_{stem}{ext}");
    }
    truncate_keeping_extension(&out, MAX_COMPONENT_BYTES)
}

/// Splits `report.final.pdf` into (`report.final`, `.pdf`); dotfiles have no extension.
pub fn split_extension(name: &str) -> (&str, &str) {
    match name.rfind('.') {
        Some(i) if i > 0 && name.len() - i <= 10 => (&name[..i], &name[i..]),
        _ => (name, ""),
    }
}

fn truncate_keeping_extension(name: &str, max: usize) -> String {
    if name.len() <= max {
        return name.to_string();
    }
    let (stem, ext) = split_extension(name);
    let mut cut = max.saturating_sub(ext.len());
    while !stem.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{ext}", &stem[..cut])
}

/// One child of a folder that needs a remote name.
#[derive(Debug, Clone)]
pub struct NameRequest {
    pub file_id: String,
    /// The sanitised name wanted (with an export extension for Workspace files).
    pub wanted: String,
    /// The name it had before, kept when still valid.
    pub previous: Option<String>,
    /// When a new name is wanted by several, this one gives way (takes the suffix).
    pub yields: bool,
}

/// Gives every child of one folder a unique remote name (unique case-insensitively).
///
/// Names given before are kept; new names are handed out in (name, ID) order, those that
/// yield last, and a name already taken gets ` (<first 8 characters of the file ID>)` before
/// its extension.
pub fn assign_names(children: &[NameRequest]) -> Vec<(String, String)> {
    let mut taken: HashSet<String> = HashSet::new();
    let mut result = Vec::with_capacity(children.len());
    let mut fresh: Vec<&NameRequest> = Vec::new();
    for child in children {
        match &child.previous {
            Some(prev) if taken.insert(prev.to_lowercase()) => result.push((child.file_id.clone(), prev.clone())),
            _ => fresh.push(child),
        }
    }
    fresh.sort_by(|a, b| (a.yields, &a.wanted, &a.file_id).cmp(&(b.yields, &b.wanted, &b.file_id)));
    for child in fresh {
        let mut name = child.wanted.clone();
        if !taken.insert(name.to_lowercase()) {
            let (stem, ext) = split_extension(&child.wanted);
            let short: String = child.file_id.chars().take(8).collect();
            name = format!("{stem} ({short}){ext}");
            if !taken.insert(name.to_lowercase()) {
                name = format!("{stem} ({}){ext}", child.file_id);
                taken.insert(name.to_lowercase());
            }
        }
        result.push((child.file_id.clone(), name));
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_become_single_safe_components() {
        assert_eq!(sanitize_component("a/b"), "a_b");
        assert_eq!(sanitize_component(".."), "__");
        assert_eq!(sanitize_component("."), "_");
        assert_eq!(sanitize_component(""), "_");
        assert_eq!(sanitize_component("<script>"), "_script_");
        assert_eq!(sanitize_component("x."), "x_");
        assert_eq!(sanitize_component("con"), "_con");
        assert_eq!(sanitize_component("nul.txt"), "_nul.txt");
        assert_eq!(sanitize_component("tab\there"), "tab_here");
        for name in ["a/b", "..", "../../etc/passwd", "\\..\\x"] {
            let s = sanitize_component(name);
            assert!(!s.contains('/') && s != ".." && s != ".", "{name} -> {s}");
        }
    }

    #[test]
    fn unicode_is_normalised_so_nfc_and_nfd_collide_visibly() {
        assert_eq!(sanitize_component("e\u{301}"), "\u{e9}");
    }

    #[test]
    fn long_names_are_cut_on_a_character_boundary_keeping_the_extension() {
        let long = format!("{}.pdf", "é".repeat(300));
        let s = sanitize_component(&long);
        assert!(s.len() <= MAX_COMPONENT_BYTES && s.ends_with(".pdf"));
    }

    fn req(id: &str, wanted: &str, previous: Option<&str>) -> NameRequest {
        NameRequest { file_id: id.into(), wanted: wanted.into(), previous: previous.map(Into::into), yields: false }
    }

    #[test]
    fn duplicates_get_deterministic_suffixes_in_any_order() {
        let a = assign_names(&[
            req("id-bbbbbbbbb", "a.txt", None),
            req("id-aaaaaaaaa", "a.txt", None),
            req("x3", "A.TXT", None),
        ]);
        let mut a_sorted = a.clone();
        a_sorted.sort();
        let b = assign_names(&[
            req("x3", "A.TXT", None),
            req("id-aaaaaaaaa", "a.txt", None),
            req("id-bbbbbbbbb", "a.txt", None),
        ]);
        let mut b_sorted = b.clone();
        b_sorted.sort();
        assert_eq!(a_sorted, b_sorted);
        let names: HashSet<String> = a.iter().map(|(_, n)| n.to_lowercase()).collect();
        assert_eq!(names.len(), 3, "{a:?}");
        assert!(a.contains(&("x3".to_string(), "A.TXT".to_string())));
        assert!(a.contains(&("id-aaaaaaaaa".to_string(), "a (id-aaaaa).txt".to_string())));
    }

    #[test]
    fn names_given_before_are_never_changed() {
        let first = assign_names(&[req("new", "a.txt", None), req("old", "a.txt", Some("a.txt"))]);
        assert!(first.contains(&("old".to_string(), "a.txt".to_string())));
        assert!(first.contains(&("new".to_string(), "a (new).txt".to_string())));
    }
}
