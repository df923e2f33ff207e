//! `cxu`: the command-line tool; everything is in `cxu_tool::cli`.
#![forbid(unsafe_code)]

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("CXU_LOG"))
        .with_writer(std::io::stderr)
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = cxu_tool::cli::main_with(&args);
    std::process::exit(code);
}
