//! Folder policies: which Drive folders go to which destinations.
//!
//! The rules: a policy names a Drive folder by ID; the deepest folder with a
//! policy decides for a file; a non-recursive policy covers only its direct children; a
//! disabled policy excludes its whole subtree; a file no policy covers goes nowhere.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FolderPolicy {
    pub folder_id: String,
    pub folder_name: String,
    pub folder_path: String,
    pub destinations: Vec<String>,
    pub recursive: bool,
    pub enabled: bool,
    pub created_at: String,
    pub updated_at: String,
}

/// What the policies decide for one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Back the file up to these destinations.
    Backup { folder_id: String, destinations: Vec<String> },
    /// The file goes nowhere, for this reason (recorded on the file).
    Skip(String),
}

/// The one policy decision (the original design's name for it): where a file goes, given its
/// folders nearest first (`[parent, grandparent, ...]`, as `drive::tree::ancestors` walks them).
pub fn get_destinations_for_file(ancestors: &[&str], policies: &HashMap<String, FolderPolicy>) -> Decision {
    for (depth, folder_id) in ancestors.iter().enumerate() {
        let Some(policy) = policies.get(*folder_id) else {
            continue;
        };
        if !policy.enabled {
            return Decision::Skip(format!("excluded: the policy on '{}' is disabled", policy.folder_path));
        }
        if depth > 0 && !policy.recursive {
            return Decision::Skip(format!("not covered: the policy on '{}' is not recursive", policy.folder_path));
        }
        return Decision::Backup { folder_id: policy.folder_id.clone(), destinations: policy.destinations.clone() };
    }
    Decision::Skip("not covered by any folder policy".to_string())
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PolicyError {
    #[error("a policy needs at least one destination; tick one (or give `--to aws_s3,local ...`)")]
    NoDestinations,
    #[error("unknown destination `{key}`; configured destinations are: {known}")]
    UnknownDestination { key: String, known: String },
    #[error("destination `{0}` is disabled in config.yaml; enable it before using it in a policy")]
    DisabledDestination(String),
    #[error("destination `{0}` is listed twice")]
    DuplicateDestination(String),
    #[error("Drive folder `{0}` does not exist or is not a folder")]
    FolderNotFound(String),
    #[error("folder path `{path}` is ambiguous: {count} folders have that name ({ids})")]
    AmbiguousPath { path: String, count: usize, ids: String },
    #[error("no policy for folder `{0}`")]
    NoSuchPolicy(String),
    #[error("folder `{0}` already has a policy")]
    AlreadyExists(String),
}

/// Checks a destination list against the configured destinations (key → enabled).
pub fn validate_destinations(requested: &[String], configured: &[(String, bool)]) -> Result<(), PolicyError> {
    if requested.is_empty() {
        return Err(PolicyError::NoDestinations);
    }
    for (i, key) in requested.iter().enumerate() {
        if requested[..i].contains(key) {
            return Err(PolicyError::DuplicateDestination(key.clone()));
        }
        match configured.iter().find(|(k, _)| k == key) {
            None => {
                let known: Vec<&str> = configured.iter().map(|(k, _)| k.as_str()).collect();
                return Err(PolicyError::UnknownDestination { key: key.clone(), known: known.join(", ") });
            }
            Some((_, false)) => return Err(PolicyError::DisabledDestination(key.clone())),
            Some((_, true)) => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(id: &str, dests: &[&str], recursive: bool, enabled: bool) -> FolderPolicy {
        FolderPolicy {
            folder_id: id.into(),
            folder_name: id.into(),
            folder_path: id.into(),
            destinations: dests.iter().map(|d| d.to_string()).collect(),
            recursive,
            enabled,
            created_at: String::new(),
            updated_at: String::new(),
        }
    }

    fn policies(list: Vec<FolderPolicy>) -> HashMap<String, FolderPolicy> {
        list.into_iter().map(|p| (p.folder_id.clone(), p)).collect()
    }

    fn dests(d: &Decision) -> Vec<String> {
        match d {
            Decision::Backup { destinations, .. } => destinations.clone(),
            Decision::Skip(_) => vec![],
        }
    }

    #[test]
    fn the_deepest_policy_decides() {
        let p =
            policies(vec![policy("projects", &["aws_s3", "b2"], true, true), policy("photos", &["b2"], true, true)]);
        assert_eq!(dests(&get_destinations_for_file(&["photos", "projects", "root"], &p)), vec!["b2"]);
        assert_eq!(dests(&get_destinations_for_file(&["deep", "photos", "projects"], &p)), vec!["b2"]);
        assert_eq!(dests(&get_destinations_for_file(&["docs", "projects"], &p)), vec!["aws_s3", "b2"]);
    }

    #[test]
    fn a_disabled_policy_excludes_its_subtree() {
        let p =
            policies(vec![policy("projects", &["aws_s3"], true, true), policy("private", &["aws_s3"], true, false)]);
        assert!(
            matches!(get_destinations_for_file(&["sub", "private", "projects"], &p), Decision::Skip(r) if r.contains("disabled"))
        );
        assert!(matches!(get_destinations_for_file(&["private", "projects"], &p), Decision::Skip(_)));
    }

    #[test]
    fn a_non_recursive_policy_covers_direct_children_only() {
        let p = policies(vec![policy("inbox", &["local"], false, true)]);
        assert_eq!(dests(&get_destinations_for_file(&["inbox"], &p)), vec!["local"]);
        assert!(
            matches!(get_destinations_for_file(&["sub", "inbox"], &p), Decision::Skip(r) if r.contains("not recursive"))
        );
    }

    #[test]
    fn a_file_outside_every_policy_is_skipped_with_a_reason() {
        let p = policies(vec![policy("projects", &["aws_s3"], true, true)]);
        assert_eq!(
            get_destinations_for_file(&["elsewhere", "root"], &p),
            Decision::Skip("not covered by any folder policy".into())
        );
    }

    #[test]
    fn destination_lists_are_checked_against_the_config() {
        let configured = vec![("aws_s3".to_string(), true), ("scaleway".to_string(), false)];
        assert_eq!(validate_destinations(&[], &configured), Err(PolicyError::NoDestinations));
        assert!(matches!(
            validate_destinations(&["dropbox".into()], &configured),
            Err(PolicyError::UnknownDestination { key, .. }) if key == "dropbox"
        ));
        assert_eq!(
            validate_destinations(&["scaleway".into()], &configured),
            Err(PolicyError::DisabledDestination("scaleway".into()))
        );
        assert_eq!(
            validate_destinations(&["aws_s3".into(), "aws_s3".into()], &configured),
            Err(PolicyError::DuplicateDestination("aws_s3".into()))
        );
        assert_eq!(validate_destinations(&["aws_s3".into()], &configured), Ok(()));
    }
}
