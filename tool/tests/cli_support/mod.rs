//! The `cxu` tool's entry point as the CLI tests call it.
#![allow(dead_code)]

use std::io::Write;

use cxu_tool::cli;

/// `cxu ARGS...`: (exit code, output).
pub fn cxu(args: &[&str]) -> (i32, String) {
    let mut out = Vec::new();
    let code = cli::run(args, &mut out);
    (code, String::from_utf8(out).expect("utf-8"))
}

/// `cxu ARGS...` that must succeed: its output.
pub fn ok(args: &[&str]) -> String {
    let (code, out) = cxu(args);
    assert_eq!(code, 0, "cxu {args:?}: {out}");
    out
}

/// A batch file of `lines`.
pub fn batch(lines: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(lines.as_bytes()).unwrap();
    f
}
