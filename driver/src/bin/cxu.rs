//! `cxu`: the command-line tool. Until the driver core lands it can only say so.
#![forbid(unsafe_code)]

fn main() {
    eprintln!("cxu: the driver core is not built yet (see issue 5); nothing to probe");
    std::process::exit(2);
}
