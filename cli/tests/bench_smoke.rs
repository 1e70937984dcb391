//! The benchmark runs end to end at tiny sizes (a smoke run: it must work, it is not timed).

use assert_cmd::Command;

#[test]
fn the_benchmark_runs_every_workload_and_writes_its_results() {
    let out = Command::cargo_bin("fanout-bench").unwrap().arg("--tiny").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    for workload in ["small", "large", "restore-s", "restore-l", "no-change", "listing", "files page"] {
        assert!(stdout.contains(workload), "{workload} missing from:\n{stdout}");
    }
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/bench/results-tiny.json");
    let results: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let w = &results["workloads"];
    assert_eq!(w.as_array().unwrap().len(), 5);
    let small = &w[0];
    let files = small["files"].as_u64().unwrap();
    assert_eq!(small["objects_at_destinations"], files * 2, "every file reached both servers: {small:#}");
    assert_eq!(small["drive_bytes_served"], small["bytes"], "each file downloaded once: {small:#}");
    // The ratio is the two measured times of this run, not a constant.
    let (fanout, anchor) = (small["fanout_s"].as_f64().unwrap(), small["anchor_a_rclone_copy_s"].as_f64().unwrap());
    let ratio = small["ratio_vs_a"].as_f64().unwrap();
    assert!(fanout > 0.0 && anchor > 0.0, "{small:#}");
    assert!((ratio - fanout / anchor).abs() <= 0.05 * ratio + 0.02, "{small:#}");
    assert_eq!(w[1]["downloaded_once"], true, "each large file is downloaded once, not once per destination");
    for (i, workload) in [(0, "small"), (1, "large")] {
        let restore = &w[i]["restore"];
        assert_eq!(restore["files_restored"], w[i]["files"], "{workload}: every file restored: {restore:#}");
        assert_eq!(restore["files_on_disk"], w[i]["files"], "{workload}: and on disk: {restore:#}");
        assert!(restore["fanout_s"].as_f64().unwrap() > 0.0 && restore["anchor_rclone_copy_s"].as_f64().unwrap() > 0.0);
    }
    assert_eq!(w[2]["transfers_started"], 0, "a no-change sync starts no transfer");
    assert_eq!(w[2]["drive_bytes_served"], 0, "a no-change sync downloads nothing");
    assert!(w[3]["drive_list_requests"].as_u64().unwrap() < w[3]["per_folder_list_requests"].as_u64().unwrap());
}
