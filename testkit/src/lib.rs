//! Test doubles for Fanout, and helpers for the real servers its tests run.
//!
//! - [`fake_b2`]: a fake Backblaze B2 native API, as rclone's `b2` backend uses it.
//! - [`fake_google`]: a fake Google Drive v3 (the demo serves its sample Drive with it).
//! - [`lying_s3`]: a proxy in front of an S3 server that reports chosen uploads stored without
//!   storing them (silent loss between rclone and a destination).
//! - [`moto`]: a real S3 implementation with Bucket Versioning and Object Lock (moto).
//! - [`s3`]: real S3 servers (`rclone serve s3`) on 127.0.0.1, one process per destination.
//!
//! The fake Google server and the S3 helper are always built (the demo profile runs on them
//! and ships in the binaries); the fake B2 and the lying proxy only with the `test-doubles`
//! feature, which only tests turn on.

#[cfg(feature = "test-doubles")]
pub mod fake_b2;
pub mod fake_google;
#[cfg(feature = "test-doubles")]
pub mod lying_s3;
#[cfg(feature = "test-doubles")]
pub mod moto;
pub mod s3;
pub mod serve;
