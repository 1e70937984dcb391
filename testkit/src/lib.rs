//! Test doubles for Fanout, and helpers for the real servers its tests run.
//!
//! - [`demo`]: the demo profile's sample Drive and local S3 server.
//! - [`fake_b2`]: a fake Backblaze B2 native API, as rclone's `b2` backend uses it.
//! - [`fake_google`]: a fake Google Drive v3 (the demo serves its sample Drive with it).
//! - [`lying_s3`]: a proxy in front of an S3 server that reports chosen uploads stored without
//!   storing them (silent loss between rclone and a destination).
//! - [`s3`]: real S3 servers (`rclone serve s3`) on 127.0.0.1, one process per destination.

pub mod demo;
pub mod fake_b2;
pub mod fake_google;
pub mod lying_s3;
pub mod s3;
pub mod serve;
