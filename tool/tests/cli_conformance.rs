//! The shapes a devlink user and a `devlink -j` script rely on, each held
//! against what iproute2's devlink/devlink.c prints (the function named in
//! each case), on the embedded model, through the `cxu` binary itself:
//! exact stdout, empty stderr, exit status.
//!
//! Comparing with the guest's own `devlink` on the kernel's driver comes
//! with iproute2 in the guest; these are the shapes read from its source.

use std::io::Write;
use std::process::{Command, Stdio};

struct Case {
    /// What devlink.c does that the case holds.
    what: &'static str,
    args: &'static [&'static str],
    /// A batch file's text (its path replaces `@` in `args`).
    batch: Option<&'static str>,
    stdout: &'static str,
    status: i32,
}

const CASES: &[Case] = &[
    Case {
        what: "getopt_long: options anywhere, -js combined (main)",
        args: &["trap", "policer", "show", "model/0", "policer", "1", "-js"],
        batch: None,
        stdout: "{\"trap_policer\":{\"model/0\":[{\"policer\":1,\"rate\":10000,\"burst\":256,\"stats\":{\"rx\":{\"dropped\":0}}}]}}\n",
        status: 0,
    },
    Case {
        what: "strcmpx: objects and commands by prefix (dl_cmd, cmd_dev)",
        args: &["d", "sh"],
        batch: None,
        stdout: "model/0\n",
        status: 0,
    },
    Case {
        what: "json_writer pretty: 4-space indent, inline arrays (-jp)",
        args: &["tr", "gr", "sh", "model/0", "group", "stp", "-jp"],
        batch: None,
        stdout: "{\n    \"trap_group\": {\n        \"model/0\": [ {\n                \"name\": \"stp\",\n                \"generic\": true,\n                \"policer\": 5\n            } ]\n    }\n}\n",
        status: 0,
    },
    Case {
        what: "do_batch: comments, \\ continuation, quotes; -j one writer joined by ','",
        args: &["-j", "-b", "@"],
        batch: Some("dev show # the device\ntrap show model/0 \\\n  trap 'stp'\n"),
        stdout: "{\"dev\":{\"model/0\":{}}},{\"trap\":{\"model/0\":[{\"name\":\"stp\",\"type\":\"control\",\"generic\":true,\"action\":\"trap\",\"group\":\"stp\"}]}}\n",
        status: 0,
    },
    Case {
        what: "do_batch: a failed command fails the run with status 1, -f goes on",
        args: &["-f", "-b", "@"],
        batch: Some("trap show model/0 trap nope\ndev show\n"),
        stdout: "model/0\n",
        status: 1,
    },
    Case {
        what: "pr_out_info: version groups two steps in, one version per line",
        args: &["dev", "info", "model/0"],
        batch: None,
        stdout: "model/0:\n  driver cxu\n  serial_number MT2025X00001\n  versions:\n      fixed:\n        fw.psid MT_0000000008\n      running:\n        fw.version 16.35.2000\n        fw 16.35.2000\n      stored:\n        fw.version 16.35.2000\n        fw 16.35.2000\n",
        status: 0,
    },
    Case {
        what: "pr_out_reload_actions_performed: the actions on one line",
        args: &["dev", "reload", "model/0"],
        batch: None,
        stdout: "reload_actions_performed:\n    driver_reinit\n",
        status: 0,
    },
    Case {
        what: "pr_out_param: values heading one step in, default after value",
        args: &["param", "show", "model/0", "name", "counters_clear_on_read"],
        batch: None,
        stdout: "model/0:\n  name counters_clear_on_read type driver-specific\n    values:\n      cmode runtime value false default false\n",
        status: 0,
    },
    Case {
        what: "cmd_dev_param_set: `default` sets the default",
        args: &["-j", "-b", "@"],
        batch: Some("param set model/0 name trap_policers value 2 cmode driverinit\nparam set model/0 name trap_policers default cmode driverinit\nparam show model/0 name trap_policers\n"),
        stdout: "{\"param\":{\"model/0\":[{\"name\":\"trap_policers\",\"type\":\"driver-specific\",\"values\":[{\"cmode\":\"driverinit\",\"value\":7,\"default\":7}]}]}}\n",
        status: 0,
    },
    Case {
        what: "pr_out_port: the port entry only, no cxu additions unasked",
        args: &["port", "show", "model/0"],
        batch: None,
        stdout: "model/0/1: type notset flavour physical port 1 splittable false\n",
        status: 0,
    },
    Case {
        what: "dl_argv_parse: DEV required for set (status 1, nothing on stdout)",
        args: &["trap", "set", "trap", "stp", "action", "drop"],
        batch: None,
        stdout: "",
        status: 1,
    },
    Case {
        what: "cmd_dev_flash_status_cb: plain status lines off a terminal, -j alike",
        args: &["-j", "dev", "flash", "model/0", "file", "@img"],
        batch: None,
        stdout: "Preparing to flash\nDownloading\nVerifying\nFlashing done\n",
        status: 0,
    },
    Case {
        what: "cmd_mon_show: {\"mon\":[...]} of what follows the start",
        args: &["-j", "-b", "@"],
        batch: Some("monitor\nparam set model/0 name counters_clear_on_read value true cmode runtime\n"),
        stdout: "{\"mon\":[{\"command\":\"new\",\"param\":{\"model/0\":{\"name\":\"counters_clear_on_read\",\"type\":\"driver-specific\",\"values\":[{\"cmode\":\"runtime\",\"value\":true,\"default\":false}]}}}]}\n",
        status: 0,
    },
    Case {
        what: "cmd_mon_show: text [object,command], the entry on the handle's line",
        args: &["-b", "@"],
        batch: Some("monitor all\nparam set model/0 name counters_clear_on_read value true cmode runtime\n"),
        stdout: "[param,new] model/0: name counters_clear_on_read type driver-specific\n  values:\n    cmode runtime value true default false\n",
        status: 0,
    },
];

#[test]
fn every_shape_as_devlink_prints_it() {
    let mut img = b"CXFW".to_vec();
    img.extend_from_slice(&0x1024_0042u32.to_be_bytes());
    img.extend_from_slice(&[0x5A; 100]);
    let fw = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(fw.path(), &img).unwrap();
    let mut failed = Vec::new();
    for c in CASES {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        if let Some(b) = c.batch {
            f.write_all(b.as_bytes()).unwrap();
        }
        let args: Vec<String> = c
            .args
            .iter()
            .map(|a| match *a {
                "@" => f.path().display().to_string(),
                "@img" => fw.path().display().to_string(),
                a => a.to_string(),
            })
            .collect();
        let o = Command::new(env!("CARGO_BIN_EXE_cxu"))
            .args(&args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&o.stdout);
        let stderr = String::from_utf8_lossy(&o.stderr);
        let stderr_ok = (c.status == 0) == stderr.is_empty();
        if stdout != c.stdout || o.status.code() != Some(c.status) || !stderr_ok {
            failed.push(format!(
                "{}: cxu {args:?}\n  status {:?} (want {})\n  stdout {stdout:?}\n  want   {:?}\n  stderr {stderr:?}",
                c.what,
                o.status.code(),
                c.status,
                c.stdout
            ));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}
