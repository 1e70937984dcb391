//! The benchmark runs end to end at tiny sizes (a smoke run: it must work, it is not timed).

use assert_cmd::Command;

#[test]
fn the_benchmark_runs_every_workload_and_writes_its_results() {
    let out = Command::cargo_bin("fanout-bench").unwrap().arg("--tiny").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    for workload in ["small", "large", "no-change", "listing", "files page"] {
        assert!(stdout.contains(workload), "{workload} missing from:\n{stdout}");
    }
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/bench/results-tiny.json");
    let results: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let w = &results["workloads"];
    assert_eq!(w.as_array().unwrap().len(), 5);
    assert!(w[0]["ratio_vs_a"].as_f64().unwrap() > 0.0);
    assert!(w[0]["speedup_vs_b"].as_f64().unwrap() > 0.0);
    assert_eq!(w[1]["downloaded_once"], true, "each large file is downloaded once, not once per destination");
    assert_eq!(w[2]["transfers_started"], 0, "a no-change sync starts no transfer");
    assert_eq!(w[2]["drive_bytes_served"], 0, "a no-change sync downloads nothing");
    assert!(w[3]["drive_list_requests"].as_u64().unwrap() < w[3]["per_folder_list_requests"].as_u64().unwrap());
}
