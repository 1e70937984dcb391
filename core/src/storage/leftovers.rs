//! What an interrupted copy leaves behind at a local destination.
//!
//! rclone writes a file to `<name>.<8 hex>.partial` and renames it when complete, so a file
//! under its real name is never half-written. A run killed mid-copy leaves the `.partial`
//! behind; the next run removes those inside Fanout's own folder and nothing else.

use std::path::Path;

use crate::config::Config;
use crate::storage::providers::Location;

/// Removes rclone's partial files under every local destination's root.
pub async fn remove_partial_files(config: &Config) -> usize {
    let roots: Vec<String> =
        config.destinations.iter().filter(|d| d.provider.location == Location::Folder).map(|d| d.root_path()).collect();
    tokio::task::spawn_blocking(move || roots.iter().map(|root| remove_under(Path::new(root))).sum()).await.unwrap_or(0)
}

fn remove_under(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    let mut removed = 0;
    for entry in entries.flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(kind) if kind.is_dir() => removed += remove_under(&path),
            Ok(_) if is_rclone_partial(&entry.file_name().to_string_lossy()) && std::fs::remove_file(&path).is_ok() => {
                tracing::info!(path = %path.display(), "removed a partial copy left by an interrupted run");
                removed += 1;
            }
            _ => {}
        }
    }
    removed
}

/// `name.<8 lowercase hex>.partial`, the only shape rclone gives its partial files.
fn is_rclone_partial(name: &str) -> bool {
    let Some(stem) = name.strip_suffix(".partial") else { return false };
    let Some((_, tag)) = stem.rsplit_once('.') else { return false };
    tag.len() == 8 && tag.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_rclone_shaped_partial_names_match() {
        assert!(is_rclone_partial("video.bin.5028698e.partial"));
        assert!(is_rclone_partial("a.5028698e.partial"));
        assert!(!is_rclone_partial("notes.partial"));
        assert!(!is_rclone_partial("video.bin.5028698X.partial"));
        assert!(!is_rclone_partial("video.bin.5028698e"));
    }
}
