//! Where a restored file goes under the target folder, and whether bytes are the ones wanted.
//!
//! An existing file with other bytes is never overwritten (unless asked): the restored one is
//! written beside it as `name (restored YYYY-MM-DD).ext`. An existing file with the wanted
//! bytes is already restored, which is what makes an interrupted restore resumable.

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};

use md5::{Digest, Md5};
use sha1::Sha1;

/// The bytes a restored file must have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    pub size: Option<i64>,
    pub md5: Option<String>,
    /// Used when no md5 was recorded (a B2 copy found by listing alone).
    pub sha1: Option<String>,
}

impl Expected {
    /// The check this amounts to, as the report names it.
    pub fn check_name(&self) -> &'static str {
        match (&self.md5, &self.sha1) {
            (Some(_), _) => "md5",
            (None, Some(_)) => "sha1",
            (None, None) => "size",
        }
    }
}

/// Whether the file at `path` has exactly the expected bytes.
pub fn has_bytes(path: &Path, expected: &Expected) -> std::io::Result<bool> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() || expected.size.is_some_and(|size| size != meta.len() as i64) {
        return Ok(false);
    }
    let mut file = std::fs::File::open(path)?;
    let mut md5 = Md5::new();
    let mut sha1 = Sha1::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        if expected.md5.is_some() {
            md5.update(&buf[..n]);
        } else if expected.sha1.is_some() {
            sha1.update(&buf[..n]);
        }
    }
    Ok(match (&expected.md5, &expected.sha1) {
        (Some(want), _) => hex::encode(md5.finalize()).eq_ignore_ascii_case(want),
        (None, Some(want)) => hex::encode(sha1.finalize()).eq_ignore_ascii_case(want),
        (None, None) => true,
    })
}

/// Where one file goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// Nothing there yet (or `--overwrite`): written at its own path.
    Own(PathBuf),
    /// Another file is at its path: written beside it, under this name.
    Beside(PathBuf),
    /// The wanted bytes are already there (at its path, or beside it).
    AlreadyThere(PathBuf),
}

impl Placement {
    pub fn path(&self) -> &Path {
        match self {
            Placement::Own(p) | Placement::Beside(p) | Placement::AlreadyThere(p) => p,
        }
    }
}

/// `relative` as a path under `dir`, when every component is a plain name: nothing a
/// destination's contents say can write outside `dir`.
pub fn safe_join(dir: &Path, relative: &str) -> Option<PathBuf> {
    let mut out = dir.to_path_buf();
    for part in relative.split('/') {
        if part.is_empty() || part == "." || part == ".." || part.contains('\0') || part.contains('\\') {
            return None;
        }
        out.push(part);
    }
    Some(out)
}

/// `report (restored 2026-12-02).pdf` for `report.pdf`; `n` > 1 adds a counter.
fn beside_name(name: &str, day: &str, n: u32) -> String {
    let (stem, ext) = crate::drive::naming::split_extension(name);
    if n == 1 {
        format!("{stem} (restored {day}){ext}")
    } else {
        format!("{stem} (restored {day} {n}){ext}")
    }
}

/// Decides where the file wanted at `own` goes. `claimed` holds the paths other files of
/// this restore already go to.
pub fn place(
    own: PathBuf,
    expected: &Expected,
    overwrite: bool,
    day: &str,
    claimed: &mut HashSet<PathBuf>,
) -> std::io::Result<Placement> {
    let free = |p: &Path, claimed: &HashSet<PathBuf>| !claimed.contains(p) && std::fs::symlink_metadata(p).is_err();
    if !claimed.contains(&own) {
        if free(&own, claimed) {
            claimed.insert(own.clone());
            return Ok(Placement::Own(own));
        }
        if has_bytes(&own, expected).unwrap_or(false) {
            claimed.insert(own.clone());
            return Ok(Placement::AlreadyThere(own));
        }
        if overwrite && std::fs::metadata(&own).map(|m| m.is_file()).unwrap_or(false) {
            claimed.insert(own.clone());
            return Ok(Placement::Own(own));
        }
    }
    let name = own.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    for n in 1..1000 {
        let beside = own.with_file_name(beside_name(&name, day, n));
        if claimed.contains(&beside) {
            continue;
        }
        if free(&beside, claimed) {
            claimed.insert(beside.clone());
            return Ok(Placement::Beside(beside));
        }
        if has_bytes(&beside, expected).unwrap_or(false) {
            claimed.insert(beside.clone());
            return Ok(Placement::AlreadyThere(beside));
        }
    }
    Err(std::io::Error::other(format!("no free name beside {}", own.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expected(bytes: &[u8]) -> Expected {
        Expected { size: Some(bytes.len() as i64), md5: Some(hex::encode(Md5::digest(bytes))), sha1: None }
    }

    #[test]
    fn nothing_outside_the_target_folder_is_ever_named() {
        let dir = Path::new("/restore");
        assert_eq!(safe_join(dir, "a/b.txt"), Some(PathBuf::from("/restore/a/b.txt")));
        for bad in ["../x", "a/../../x", "a//b", "/etc/passwd", "a/./b", "", "a\\..\\b"] {
            assert_eq!(safe_join(dir, bad), None, "{bad}");
        }
    }

    #[test]
    fn an_existing_file_is_kept_and_the_restored_one_goes_beside_it_unless_it_already_has_the_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let own = dir.path().join("report.pdf");
        let mut claimed = HashSet::new();
        assert_eq!(
            place(own.clone(), &expected(b"new"), false, "2026-12-02", &mut claimed).unwrap(),
            Placement::Own(own.clone())
        );

        std::fs::write(&own, b"other").unwrap();
        let mut claimed = HashSet::new();
        let beside = dir.path().join("report (restored 2026-12-02).pdf");
        assert_eq!(
            place(own.clone(), &expected(b"new"), false, "2026-12-02", &mut claimed).unwrap(),
            Placement::Beside(beside.clone())
        );
        // Run again after the first restore wrote it: already there, nothing to fetch.
        std::fs::write(&beside, b"new").unwrap();
        let mut claimed = HashSet::new();
        assert_eq!(
            place(own.clone(), &expected(b"new"), false, "2026-12-02", &mut claimed).unwrap(),
            Placement::AlreadyThere(beside)
        );
        // The same bytes at its own path: already there.
        let mut claimed = HashSet::new();
        assert_eq!(
            place(own.clone(), &expected(b"other"), false, "2026-12-02", &mut claimed).unwrap(),
            Placement::AlreadyThere(own.clone())
        );
        let mut claimed = HashSet::new();
        assert_eq!(place(own.clone(), &expected(b"x"), true, "2026-12-02", &mut claimed).unwrap(), Placement::Own(own));
    }

    #[test]
    fn bytes_are_checked_by_md5_then_sha1_then_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"hello").unwrap();
        assert!(has_bytes(&path, &expected(b"hello")).unwrap());
        assert!(!has_bytes(&path, &expected(b"hellp")).unwrap());
        let sha1 = Expected { size: Some(5), md5: None, sha1: Some(hex::encode(Sha1::digest(b"hello"))) };
        assert!(has_bytes(&path, &sha1).unwrap());
        let wrong = Expected { sha1: Some(hex::encode(Sha1::digest(b"hellp"))), ..sha1 };
        assert!(!has_bytes(&path, &wrong).unwrap());
        assert!(!has_bytes(&path, &Expected { size: Some(4), md5: None, sha1: None }).unwrap());
    }
}
