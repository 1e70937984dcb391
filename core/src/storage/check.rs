//! The one check of "is this object at the destination, with this size and hash": used when a
//! copy is made and by `fanout verify`.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::providers::HashKind;
use super::ObjectInfo;

/// What proved a copy was intact at its destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VerifiedBy {
    /// The destination's own md5 of the stored bytes (S3's ETag of a single-part object, a
    /// local file's bytes).
    Md5,
    /// The destination's own sha1 (B2, for files uploaded in one part).
    Sha1,
    /// An md5 rclone computed while uploading and stored as object metadata (S3 multipart
    /// objects): it proves what was sent, not what the server stored.
    Md5Metadata,
    /// A sha1 rclone stored as file info (B2 large files); the same caveat.
    Sha1Metadata,
    /// Only the size: the destination listed no hash. `fanout verify --download` proves the
    /// bytes.
    Size,
}

impl VerifiedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            VerifiedBy::Md5 => "md5",
            VerifiedBy::Sha1 => "sha1",
            VerifiedBy::Md5Metadata => "md5-metadata",
            VerifiedBy::Sha1Metadata => "sha1-metadata",
            VerifiedBy::Size => "size",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Md5, Self::Sha1, Self::Md5Metadata, Self::Sha1Metadata, Self::Size]
            .into_iter()
            .find(|v| v.as_str() == text)
    }

    /// A hash (of whatever origin) backs the proof, not the size alone.
    pub fn is_hash(self) -> bool {
        self != VerifiedBy::Size
    }

    /// The proof a listed hash of `kind` gives for an object of `size` bytes at a provider
    /// whose hashes are rclone's own metadata from `metadata_from` bytes on.
    pub fn for_hash(kind: HashKind, size: u64, metadata_from: Option<u64>) -> Self {
        let from_metadata = metadata_from.is_some_and(|from| size >= from);
        match (kind, from_metadata) {
            (HashKind::Md5, false) => VerifiedBy::Md5,
            (HashKind::Md5, true) => VerifiedBy::Md5Metadata,
            (HashKind::Sha1, false) => VerifiedBy::Sha1,
            (HashKind::Sha1, true) => VerifiedBy::Sha1Metadata,
        }
    }
}

impl fmt::Display for VerifiedBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why what the destination holds does not prove a copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mismatch {
    Missing,
    Size { found: i64, expected: i64 },
    Hash { kind: HashKind, found: String, expected: String },
}

impl Mismatch {
    /// Missing, as opposed to present with other bytes.
    pub fn is_missing(&self) -> bool {
        matches!(self, Mismatch::Missing)
    }
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mismatch::Missing => write!(f, "the copy is not at the destination"),
            Mismatch::Size { found, expected } => {
                write!(f, "the destination holds {found} bytes, expected {expected}")
            }
            Mismatch::Hash { kind, found, expected } => {
                write!(f, "the destination's {} is {found}, expected {expected}", kind.rclone_name())
            }
        }
    }
}

/// Whether `object` (as listed) is a copy of `expected_size` bytes with `expected_hash` (of
/// the destination's hash kind). `Ok(Some(hash))` when a listed hash matched, `Ok(None)` when
/// the destination listed none and the size matched.
pub fn check_object(
    object: Option<&ObjectInfo>,
    expected_size: i64,
    expected_hash: Option<&str>,
    kind: HashKind,
) -> Result<Option<String>, Mismatch> {
    let object = object.ok_or(Mismatch::Missing)?;
    if object.size != expected_size {
        return Err(Mismatch::Size { found: object.size, expected: expected_size });
    }
    match (&object.hash, expected_hash) {
        (Some(found), Some(expected)) if found != expected => {
            Err(Mismatch::Hash { kind, found: found.clone(), expected: expected.to_string() })
        }
        (Some(found), _) => Ok(Some(found.clone())),
        (None, _) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(size: i64, hash: Option<&str>) -> ObjectInfo {
        ObjectInfo { size, hash: hash.map(str::to_string) }
    }

    #[test]
    fn size_and_hash_must_both_match() {
        let ok = object(5, Some("abc"));
        assert_eq!(check_object(Some(&ok), 5, Some("abc"), HashKind::Md5), Ok(Some("abc".into())));
        assert_eq!(check_object(None, 5, Some("abc"), HashKind::Md5), Err(Mismatch::Missing));
        assert!(matches!(check_object(Some(&ok), 6, Some("abc"), HashKind::Md5), Err(Mismatch::Size { .. })));
        assert!(matches!(check_object(Some(&ok), 5, Some("abd"), HashKind::Md5), Err(Mismatch::Hash { .. })));
        assert_eq!(check_object(Some(&object(5, None)), 5, Some("abc"), HashKind::Md5), Ok(None));
    }

    #[test]
    fn hashes_rclone_wrote_itself_are_told_apart() {
        assert_eq!(VerifiedBy::for_hash(HashKind::Md5, 10, Some(100)), VerifiedBy::Md5);
        assert_eq!(VerifiedBy::for_hash(HashKind::Md5, 100, Some(100)), VerifiedBy::Md5Metadata);
        assert_eq!(VerifiedBy::for_hash(HashKind::Sha1, 1 << 40, None), VerifiedBy::Sha1);
        for v in [VerifiedBy::Md5, VerifiedBy::Sha1Metadata, VerifiedBy::Size] {
            assert_eq!(VerifiedBy::parse(v.as_str()), Some(v));
        }
    }
}
