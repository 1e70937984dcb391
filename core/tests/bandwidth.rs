//! Bandwidth rules in a real run: a timetable's limit holds Drive downloads and rclone's uploads
//! under it (from the run's own byte counters over time), and a new limit takes effect in a
//! running sync without restarting it.

mod support;

use std::time::{Duration, Instant};

use fanout_core::sync::{ProgressSnapshot, SyncEvent, SyncOptions};

const MIB: u64 = 1024 * 1024;

/// Runs a sync, recording each progress snapshot with when it arrived.
async fn sync_recording(
    engine: &fanout_core::Engine,
    during: impl std::future::Future<Output = ()>,
) -> Vec<(Instant, ProgressSnapshot)> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let recorder = tokio::spawn(async move {
        let mut seen = Vec::new();
        while let Some(event) = rx.recv().await {
            if let SyncEvent::Progress(p) = event {
                seen.push((Instant::now(), p));
            }
        }
        seen
    });
    let options = SyncOptions { progress: Some(tx), ..Default::default() };
    let (summary, ()) = tokio::join!(engine.sync(options), during);
    assert!(summary.unwrap().all_success);
    recorder.await.unwrap()
}

/// The fastest rate between any two snapshots at least `span` apart, of one byte counter.
fn fastest_rate(seen: &[(Instant, ProgressSnapshot)], span: Duration, bytes: impl Fn(&ProgressSnapshot) -> u64) -> f64 {
    let mut fastest: f64 = 0.0;
    for (i, (t0, p0)) in seen.iter().enumerate() {
        if let Some((t1, p1)) = seen[i..].iter().find(|(t, _)| t.duration_since(*t0) >= span) {
            let rate = (bytes(p1) - bytes(p0)) as f64 / t1.duration_since(*t0).as_secs_f64();
            fastest = fastest.max(rate);
        }
    }
    fastest
}

fn first_time(seen: &[(Instant, ProgressSnapshot)], reached: impl Fn(&ProgressSnapshot) -> bool) -> Instant {
    seen.iter().find(|(_, p)| reached(p)).map(|(t, _)| *t).expect("reached during the run")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timetable_limit_holds_drive_downloads_and_uploads_under_it() {
    let big = vec![7u8; 8 * MIB as usize];
    // Two slots of the same rate: whatever the time of day, 1 MiB/s each way.
    let s =
        support::setup(&[("Projects/big.bin", big.clone())], None, "  bandwidth_limit: \"00:00,1M 12:00,1M\"\n").await;
    let seen = sync_recording(&s.engine, async {}).await;
    assert!(s.backed_up("Projects/big.bin") == Some(big.clone()), "the destination holds the same bytes");

    let downloaded = |p: &ProgressSnapshot| p.bytes_downloaded;
    let uploaded = |p: &ProgressSnapshot| p.destinations.get("local").map_or(0, |d| d.bytes_uploaded);
    // Counted as the bytes arrive: many snapshots while the 8 MiB come in, none faster than
    // the limit (with a tenth for the first piece in flight).
    let during_download = seen.iter().filter(|(_, p)| p.bytes_downloaded > 0 && p.bytes_downloaded < 8 * MIB).count();
    assert!(during_download >= 10, "only {during_download} snapshots during the download");
    let rate = fastest_rate(&seen, Duration::from_secs(2), downloaded);
    assert!(rate <= 1.1 * MIB as f64, "downloads ran at {rate:.0} B/s over 2 s");
    let start = seen.first().unwrap().0;
    let download_took = first_time(&seen, |p| p.bytes_downloaded == 8 * MIB).duration_since(start);
    assert!(download_took >= Duration::from_secs(6), "8 MiB came in {download_took:?}");
    // rclone's upload to the destination too: rclone lets 4 MiB through at once (its token
    // bucket's burst), the other 4 MiB at 1 MiB/s.
    let last_downloading = seen.iter().rev().find(|(_, p)| p.bytes_downloaded < 8 * MIB).unwrap().0;
    let upload_took = first_time(&seen, |p| uploaded(p) == 8 * MIB).duration_since(last_downloading);
    assert!(upload_took >= Duration::from_secs(3), "8 MiB went out in {upload_took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_limit_applies_to_the_running_sync_and_is_written_to_the_config() {
    let big = vec![9u8; 12 * MIB as usize];
    let s = support::setup(&[("Projects/big.bin", big.clone())], None, "  bandwidth_limit: 1M\n").await;
    let config_path = s.dir.path().join("config.yaml");
    std::fs::write(&config_path, "sync:\n  bandwidth_limit: 1M   # for the office line\n").unwrap();
    let started = Instant::now();
    let change = async {
        tokio::time::sleep(Duration::from_secs(2)).await;
        s.engine.set_bandwidth_limit("off", Some(&config_path)).await.unwrap();
    };
    let seen = sync_recording(&s.engine, change).await;
    assert!(s.backed_up("Projects/big.bin") == Some(big.clone()), "the destination holds the same bytes");

    // At 1 MiB/s the 12 MiB would take 12 s to come in and 12 s to go out; lifted after 2 s,
    // both finish long before.
    let downloaded_at = first_time(&seen, |p| p.bytes_downloaded == 12 * MIB).duration_since(started);
    let limited_until = seen.iter().filter(|(t, _)| t.duration_since(started) < Duration::from_millis(1800));
    let before_change = limited_until.map(|(_, p)| p.bytes_downloaded).max().unwrap_or(0);
    assert!(before_change <= 2 * MIB + MIB / 5, "{before_change} bytes in the first 1.8 s at 1 MiB/s");
    assert!(
        downloaded_at < Duration::from_secs(9),
        "the download ended {downloaded_at:?} in: the new limit did not apply"
    );
    let total = started.elapsed();
    assert!(total < Duration::from_secs(14), "the run took {total:?}: the upload kept the old limit");

    assert_eq!(s.engine.bandwidth_limit().text(), "off");
    let written = std::fs::read_to_string(&config_path).unwrap();
    assert_eq!(written, "sync:\n  bandwidth_limit: \"off\"  # for the office line\n");
    let bad = s.engine.set_bandwidth_limit("very fast", Some(&config_path)).await.unwrap_err();
    assert!(bad.to_string().contains("bandwidth_limit"), "{bad}");
    assert_eq!(std::fs::read_to_string(&config_path).unwrap(), written, "a refused limit is not written");
}
