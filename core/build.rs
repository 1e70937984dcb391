// Records the target triple so the engine can find the bundled `rclone-<triple>` sidecar.
fn main() {
    let target = std::env::var("TARGET").unwrap_or_default();
    println!("cargo:rustc-env=FANOUT_TARGET_TRIPLE={target}");
}
