//! `cxu bench` as a cargo bench target, for a release build without the CLI
//! and for profiling (`perf record` on this binary): the arguments after
//! `--` are `cxu bench`'s.
//!
//! `cargo bench -p cxu-tool --bench sweep -- --depths 32 --threads 2 --modes polling`

fn main() {
    // cargo passes `--bench` to every bench target; `cxu bench` does not take it.
    let args: Vec<String> = std::iter::once("bench".to_string())
        .chain(std::env::args().skip(1).filter(|a| a != "--bench"))
        .collect();
    let code = cxu_tool::bench::cli(&args, None, &mut std::io::stdout(), &mut std::io::stderr());
    std::process::exit(code);
}
