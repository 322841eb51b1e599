//! Building an example to run it as a real process in a test.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Builds `examples/<name>.rs` with the features this test binary was built
/// with (`--all-features` in scripts/test.sh, so nothing is rebuilt
/// differently) and returns the path of the executable.
pub(crate) fn example_binary(name: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let status = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--all-features", "--example", name])
        .current_dir(root)
        .status()
        .unwrap();
    assert!(status.success(), "building the example {name} failed");
    std::env::var("CARGO_TARGET_DIR")
        .map_or_else(|_| root.join("target"), PathBuf::from)
        .join("debug/examples")
        .join(name)
}
