//! What every QEMU guest test of this crate needs from the host: where the
//! workspace and the guest cache are, and a command's output for a failure.

use std::path::{Path, PathBuf};
use std::process::Output;

/// The workspace root (the parent of `tests/`).
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// Where `qemu/guest/fetch.sh` keeps its cache (it uses the same rules).
pub fn cache_root() -> PathBuf {
    if let Some(c) = std::env::var_os("CXU_CACHE") {
        return PathBuf::from(c);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from("/tmp"));
    base.join("cxu")
}

/// A finished command's status, stdout and stderr, for a failure message.
pub fn show(what: &str, out: &Output) -> String {
    format!(
        "{what}: {}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
