//! What each destination costs a month: the ledger's bytes (kept versions included) times the
//! price table, and a folder's size in Drive times each destination's price.

mod support;

use fanout_core::db::{FileRecord, PairUpdate, Replaced, SyncStatus};
use fanout_core::storage::check::VerifiedBy;

const GIB: i64 = 1 << 30;

fn synced(destination: &str, size: i64, version: i64, replaced: Option<Replaced>) -> PairUpdate {
    PairUpdate {
        destination: destination.into(),
        status: SyncStatus::Synced,
        remote_path: Some("bucket/google-drive/big.bin".into()),
        size: Some(size),
        md5: Some(format!("md5-{version}")),
        version: Some(version),
        verified_by: Some(VerifiedBy::Md5),
        remote_hash: Some(format!("md5-{version}")),
        error_message: None,
        modified_time: None,
        replaced,
    }
}

fn listed(file_id: &str) -> FileRecord {
    FileRecord {
        file_id: file_id.into(),
        parent_id: None,
        name: format!("{file_id}.bin"),
        remote_name: format!("{file_id}.bin"),
        mime_type: "application/octet-stream".into(),
        is_folder: false,
        content_id: None,
        size: None,
        md5: None,
        version: None,
        modified_time: None,
        drive_path: format!("Projects/{file_id}.bin"),
        remote_path: format!("google-drive/Projects/{file_id}.bin"),
        trashed: false,
        explicitly_trashed: false,
        drive_trashed: false,
        gone: false,
        skip_reason: None,
    }
}

#[tokio::test]
async fn a_destination_holding_ten_gib_shows_ten_times_its_price_kept_versions_included() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = "destinations:\n  aws_s3:\n    enabled: true\n    bucket: b\n  \
                glacier:\n    type: aws_s3\n    enabled: true\n    bucket: g\n    storage_class: deep_archive\n  \
                local:\n    enabled: true\n    path: /tmp/fanout-cost-test\n";
    let engine = support::open_engine(yaml, dir.path()).await;
    let db = engine.db();
    db.save_listing(&[listed("f1"), listed("f2")], &[]).await.unwrap();
    // 6 GiB copied, then replaced by 4 GiB with the 6 GiB kept: 10 GiB held at aws_s3.
    db.record_file_results("f1", &[synced("aws_s3", 6 * GIB, 1, None), synced("local", 6 * GIB, 1, None)])
        .await
        .unwrap();
    let kept = Replaced::KeptAt("b/.fanout/versions/big.bin".into());
    db.record_file_results("f1", &[synced("aws_s3", 4 * GIB, 2, Some(kept))]).await.unwrap();
    db.record_file_results("f2", &[synced("glacier", 1000 * GIB, 1, None)]).await.unwrap();

    let stats = engine.stats().await.unwrap();
    let of = |key: &str| stats.iter().find(|s| s.destination == key).unwrap().clone();
    let s3 = of("aws_s3");
    assert_eq!((s3.synced_bytes, s3.kept_bytes), (4 * GIB, 6 * GIB));
    let cost = s3.monthly_cost.expect("S3 Standard has a published price");
    assert_eq!((cost.amount, cost.per_gb_month, cost.currency.as_str()), (0.23, 0.023, "USD"));
    assert_eq!(cost.storage_class, "STANDARD");
    assert!(!cost.as_of.is_empty());

    let deep = of("glacier").monthly_cost.unwrap();
    assert_eq!((deep.storage_class.as_str(), deep.amount), ("DEEP_ARCHIVE", 0.99));
    assert_eq!(of("local").monthly_cost, None, "a disk has no price");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folders_estimate_is_its_size_in_drive_times_each_price() {
    let files = [("Projects/a.bin", vec![1u8; 300_000]), ("Projects/deep/b.bin", vec![2u8; 700_000])];
    let s = support::setup(&files, None, "").await;
    let yaml = format!(
        "google:\n  drive_url: {}\ndestinations:\n  backblaze_b2:\n    enabled: true\n    bucket: b\n  \
         local:\n    enabled: true\n    path: {}\nprices:\n  backblaze_b2:\n    STANDARD: {{ per_gb_month: 0.5 }}\n",
        s.drive.drive_url(),
        s.backup.display()
    );
    let engine = support::open_engine(&yaml, &s.dir.path().join("data2")).await;

    let all = engine.folder_estimate("Projects", true).await.unwrap();
    assert_eq!((all.folder_path.as_str(), all.files, all.bytes), ("Projects", 2, 1_000_000));
    let b2 = &all.monthly_costs["backblaze_b2"];
    assert_eq!(b2.amount, ((1_000_000.0 / GIB as f64 * 0.5) * 1e6_f64).round() / 1e6);
    assert_eq!(b2.as_of, "config.yaml");
    assert!(!all.monthly_costs.contains_key("local"), "{:?}", all.monthly_costs);

    let top = engine.folder_estimate("Projects", false).await.unwrap();
    assert_eq!((top.files, top.bytes), (1, 300_000), "without sub-folders only a.bin counts");

    // Once listed by a sync, `fanout status` gives the same figures without asking Drive.
    s.engine.sync(Default::default()).await.unwrap();
    let listed = s.engine.policy_estimates().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].files, listed[0].bytes), (2, 1_000_000));
}
