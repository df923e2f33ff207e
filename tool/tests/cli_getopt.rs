//! The command line as devlink's getopt_long and do_batch read it: options
//! anywhere, combined short flags, abbreviations, batch quoting and
//! continuations, `-j -b` output and exit codes.

mod cli_support;

use cli_support::{batch, cxu, ok};

const POLICER_1_STATS: &str = "{\"trap_policer\":{\"model/0\":[{\"policer\":1,\"rate\":10000,\"burst\":256,\"stats\":{\"rx\":{\"dropped\":0}}}]}}\n";

#[test]
fn options_anywhere_and_combined() {
    for args in [
        &["-j", "-s", "trap", "policer", "show", "policer", "1"][..],
        &["trap", "policer", "show", "policer", "1", "-js"],
        &["trap", "-s", "policer", "--json", "show", "policer", "1"],
        &["--js", "--stat", "trap", "policer", "show", "policer", "1"],
    ] {
        assert_eq!(ok(args), POLICER_1_STATS, "{args:?}");
    }
    // `--` ends the options: what follows is a command word.
    let (code, out) = cxu(&["-j", "trap", "show", "--", "-s"]);
    assert_eq!(code, 1);
    assert!(out.contains("\"-s\""), "{out}");
    // -jps: JSON, pretty, statistics in one word.
    let p = ok(&["trap", "policer", "show", "policer", "1", "-jps"]);
    assert!(
        p.starts_with("{\n    \"trap_policer\": {\n        \"model/0\": [ {\n"),
        "{p}"
    );
    assert!(p.contains("\"stats\": {"), "{p}");
    // Unknown and ambiguous options fail with status 1.
    let (code, out) = cxu(&["-jz", "dev", "show"]);
    assert_eq!((code, out.as_str()), (1, "Error: invalid option -- 'z'\n"));
    let (code, out) = cxu(&["--p", "dev", "show"]);
    assert_eq!(code, 1);
    assert!(out.contains("ambiguous"), "{out}");
    assert!(ok(&["-V"]).starts_with("cxu utility, cxu-"));
}

#[test]
fn objects_and_commands_abbreviate_as_in_devlink() {
    assert_eq!(ok(&["d", "sh"]), ok(&["dev", "show"]));
    assert_eq!(ok(&["d", "i"]), ok(&["dev", "info"]));
    assert_eq!(
        ok(&["tr", "gr", "sh", "group", "stp"]),
        "model/0:\n  name stp generic true policer 5\n"
    );
    assert_eq!(
        ok(&["-j", "t", "p", "s", "policer", "2"]),
        "{\"trap_policer\":{\"model/0\":[{\"policer\":2,\"rate\":10000,\"burst\":256}]}}\n"
    );
    // As in devlink, `help` comes first: `he` is help, `hea` health.
    assert_eq!(ok(&["he"]), ok(&["help"]));
    assert_eq!(ok(&["hea", "sh"]), ok(&["health", "show"]));
    assert_eq!(ok(&["p", "s"]), ok(&["port", "show"]));
    assert_eq!(ok(&["pa", "s"]), ok(&["param", "show"]));
    // An abbreviation longer than any name matches nothing.
    let (code, out) = cxu(&["devx", "show"]);
    assert_eq!(code, 1);
    assert!(out.starts_with("Error: Object \"devx\" not found"), "{out}");
}

#[test]
fn batch_quotes_continuations_and_json() {
    let f = batch(
        "trap set model/0 \\\n   trap 'vlan_tag_mismatch' action \"trap\" # set it\n\
         \n# a comment line\ntrap show model/0 trap vlan_tag_mismatch\n",
    );
    assert_eq!(
        ok(&["-b", f.path().to_str().unwrap()]),
        "model/0:\n  name vlan_tag_mismatch type drop generic true action trap group l2_drops\n"
    );
    // devlink -j -b: one JSON writer for the run, documents joined by ','
    // and one newline at the end.
    let f = batch("dev show\ntrap policer show model/0 policer 1\n");
    assert_eq!(
        ok(&["-j", "-b", f.path().to_str().unwrap()]),
        "{\"dev\":{\"model/0\":{}}},{\"trap_policer\":{\"model/0\":[{\"policer\":1,\"rate\":10000,\"burst\":256}]}}\n"
    );
    // An unterminated quote fails its line; -f/--force goes on; the line
    // number is the physical line the command ended on.
    let f = batch("dev \\\nshow 'x\ndev show\n");
    let path = f.path().to_str().unwrap();
    let (code, out) = cxu(&["-b", path]);
    assert_eq!(code, 1);
    assert_eq!(
        out,
        format!("Error: Unterminated quoted string\nCommand failed {path}:2\n")
    );
    for force in ["-f", "--force", "--fo"] {
        let (code, out) = cxu(&[force, "-b", path]);
        assert_eq!(code, 1, "{force}");
        assert!(
            out.starts_with("model/0\nError: Unterminated"),
            "{force}: {out}"
        );
    }
    // Options are not read inside a batch line.
    let f = batch("dev show -j\n");
    let (code, out) = cxu(&["-b", f.path().to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(out.contains("options go on the command line"), "{out}");
    let (code, out) = cxu(&["-b", "/nonexistent/cxu.batch"]);
    assert_eq!(code, 1);
    assert!(
        out.starts_with("Error: Cannot open file \"/nonexistent/cxu.batch\" for reading"),
        "{out}"
    );
}
