//! Where a restored file goes under the target folder, and whether bytes are the ones wanted.
//!
//! An existing file with other bytes is never overwritten (unless asked): the restored one is
//! written beside it as `name (restored YYYY-MM-DD).ext`. An existing file with the wanted
//! bytes is already restored, which is what makes an interrupted restore resumable.

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use md5::{Digest, Md5};

use crate::storage::providers::HashKind;
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

    /// Whether `stated`, a destination's hash of this `kind` for an object, is the one these
    /// bytes must have.
    pub fn is_stated(&self, kind: HashKind, stated: &str) -> bool {
        let want = match kind {
            HashKind::Md5 => &self.md5,
            HashKind::Sha1 => &self.sha1,
        };
        want.as_deref().is_some_and(|want| want.eq_ignore_ascii_case(stated))
    }
}

/// Whether `path` is a file of the expected size (what is left to check once its hash is known).
pub fn has_size(path: &Path, expected: &Expected) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && expected.size.is_none_or(|size| size == m.len() as i64))
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

/// [`has_bytes`] for each file, read by as many threads as there are cores: checking a
/// restore is bound by hashing, and the files are independent.
pub fn have_bytes(files: &[(PathBuf, Expected)]) -> Vec<std::io::Result<bool>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(files.len()).max(1);
    let next = AtomicUsize::new(0);
    let checked: Vec<(usize, std::io::Result<bool>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some((path, expected)) = files.get(i) else { break };
                        done.push((i, has_bytes(path, expected)));
                    }
                    done
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().unwrap_or_default()).collect()
    });
    let mut results: Vec<std::io::Result<bool>> =
        files.iter().map(|_| Err(std::io::Error::other("the check did not finish"))).collect();
    for (i, result) in checked {
        results[i] = result;
    }
    results
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
    fn files_checked_in_parallel_keep_their_order() {
        let dir = tempfile::tempdir().unwrap();
        let files: Vec<(PathBuf, Expected)> = (0..40)
            .map(|i| {
                let path = dir.path().join(format!("f{i}"));
                if i % 7 != 3 {
                    std::fs::write(&path, format!("bytes {i}")).unwrap();
                }
                let wanted = if i % 5 == 0 { format!("other {i}") } else { format!("bytes {i}") };
                (path, expected(wanted.as_bytes()))
            })
            .collect();
        let results = have_bytes(&files);
        assert_eq!(results.len(), 40);
        for (i, result) in results.iter().enumerate() {
            match (i % 7 == 3, i % 5 == 0) {
                (true, _) => assert!(result.is_err(), "{i}: missing"),
                (false, true) => assert!(!result.as_ref().unwrap(), "{i}: other bytes"),
                (false, false) => assert!(result.as_ref().unwrap(), "{i}: the wanted bytes"),
            }
        }
        assert!(have_bytes(&[]).is_empty());
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
