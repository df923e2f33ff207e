//! What every QEMU guest test of this crate needs from the host: where the
//! workspace and the guest cache are, and a command's output for a failure.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

/// The guest target triple (also the host's: an explicit `--target` keeps the
/// crt-static flags away from the host build and its proc-macros).
pub const TARGET: &str = "x86_64-unknown-linux-gnu";

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

/// Whether a guest test runs. The guest tests are `#[ignore]`d (a plain
/// `cargo test` reports them as ignored); run with `--ignored`, as
/// `scripts/test` does, they fetch the QEMU cache if it is missing and run.
/// Only an explicit `CXU_QEMU=0` skips one that was asked for, and says so.
pub fn guest_ready(test: &str) -> bool {
    if std::env::var("CXU_QEMU").is_ok_and(|v| v == "0") {
        eprintln!("{test}: SKIPPED: CXU_QEMU=0");
        return false;
    }
    // fetch.sh returns at once when the cache is complete.
    let fetch = Command::new(workspace().join("qemu/guest/fetch.sh"))
        .output()
        .expect("run fetch.sh");
    assert!(fetch.status.success(), "{}", show("fetch.sh", &fetch));
    let complete = cache_root().join("guest-root/.complete");
    assert!(
        complete.exists(),
        "fetch.sh succeeded but left no {}",
        complete.display()
    );
    true
}

/// Builds `targets` (cargo's `-p PKG --bin|--test NAME` arguments) statically,
/// release, for [`TARGET`], in one cargo call; returns `find(name)`, the path
/// of each executable by its target name.
pub fn static_build(test: &str, targets: &[&str]) -> impl Fn(&str) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let t = Instant::now();
    let out = Command::new(cargo)
        .current_dir(workspace())
        .env("RUSTFLAGS", "-C target-feature=+crt-static")
        .args(["build", "--release", "--target", TARGET])
        .args(["--message-format", "json-render-diagnostics"])
        .args(targets)
        .output()
        .expect("run cargo");
    assert!(out.status.success(), "{}", show("static build", &out));
    eprintln!("{test}: static build took {:?}", t.elapsed());
    let exes = executables(&String::from_utf8_lossy(&out.stdout));
    move |name: &str| {
        exes.iter()
            .find(|(n, _)| n == name)
            .map(|(_, p)| p.clone())
            .unwrap_or_else(|| panic!("cargo built no executable {name}: {exes:?}"))
    }
}

/// The `"executable"` of each artifact in cargo's JSON messages, by target name.
pub fn executables(json: &str) -> Vec<(String, PathBuf)> {
    let field = |line: &str, key: &str| -> Option<String> {
        let start = line.find(key)? + key.len();
        let end = line[start..].find('"')?;
        Some(line[start..start + end].to_string())
    };
    json.lines()
        .filter(|l| l.contains(r#""reason":"compiler-artifact""#))
        .filter_map(|l| {
            let target = &l[l.find(r#""target":{"#)?..];
            let name = field(target, r#""name":""#)?;
            Some((name, PathBuf::from(field(l, r#""executable":""#)?)))
        })
        .collect()
}
