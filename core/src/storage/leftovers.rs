//! What an interrupted copy leaves behind at a local destination.
//!
//! rclone writes a local file to `<name>.<8 hex>.partial` and renames it when complete, so a
//! file under its real name is never half-written. A run killed mid-copy leaves the `.partial`
//! behind. Before each copy to a local folder the engine records which objects it will write
//! (an upload intent); afterwards only `<recorded name>.<8 hex>.partial` files next to those
//! objects are removed. Anything else, however it is named, is never touched: it may be a
//! Drive file of that name, or another program's.

use std::path::Path;

use crate::db::{Database, DbError, UploadIntent};

/// Removes the partial files recorded intents may have left, then forgets the intents.
pub async fn remove_partial_files(db: &Database) -> Result<usize, DbError> {
    let intents = db.upload_intents().await?;
    if intents.is_empty() {
        return Ok(0);
    }
    let mut removed = 0;
    for intent in intents {
        let id = intent.id;
        removed += tokio::task::spawn_blocking(move || remove_for(&intent)).await.unwrap_or(0);
        db.clear_upload_intent(id).await?;
    }
    Ok(removed)
}

fn remove_for(intent: &UploadIntent) -> usize {
    let root = Path::new(&intent.root);
    let mut removed = 0;
    for path in &intent.paths {
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else { continue };
        for entry in entries.flatten() {
            let file_name = entry.file_name();
            let is_ours = is_partial_of(&file_name.to_string_lossy(), name);
            if is_ours
                && entry.file_type().map(|t| t.is_file()).unwrap_or(false)
                && std::fs::remove_file(entry.path()).is_ok()
            {
                tracing::info!(path = %entry.path().display(), "removed a partial copy left by an interrupted run");
                removed += 1;
            }
        }
    }
    removed
}

/// `<name>.<8 lowercase hex>.partial`: the file rclone writes while copying `name`.
fn is_partial_of(file_name: &str, name: &str) -> bool {
    let Some(tag) = file_name.strip_prefix(name).and_then(|rest| rest.strip_prefix('.')) else { return false };
    let Some(tag) = tag.strip_suffix(".partial") else { return false };
    tag.len() == 8 && tag.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_partial_of_the_recorded_name_matches() {
        assert!(is_partial_of("video.bin.5028698e.partial", "video.bin"));
        assert!(!is_partial_of("video.bin.5028698e.partial", "video"));
        assert!(!is_partial_of("other.bin.5028698e.partial", "video.bin"));
        assert!(!is_partial_of("video.bin.partial", "video.bin"));
        assert!(!is_partial_of("video.bin.5028698X.partial", "video.bin"));
        assert!(!is_partial_of("video.bin", "video.bin"));
    }
}
