//! The C peer, rdma-core's userspace mlx5 over VFIO, in the guest beside
//! `cxu bench --pci`: the program (`rdma_peer.c`) is linked statically on the
//! host against Debian's libibverbs-dev (libmlx5.a, libibverbs.a) and libnl
//! from the guest cache (`qemu/guest/fetch.sh`), run in the guest on the
//! function bound to vfio-pci, and checked from both sides: its own PASS
//! lines, and the model's state line printed when vfio-pci resets the
//! function after rdma-core closed it.

use std::path::{Path, PathBuf};
use std::process::Command;

use cxu_hal::ifc::{CmdStatus, Opcode};
use serde_json::Value;

use super::harness::show;
use super::mlx5_state::{commands, log, sequence, Cmd};

/// NOPs and QUERY_HCA_CAPs the peer sends through `mlx5dv_devx_general_cmd`.
pub const NOPS: u32 = 3000;
pub const QUERIES: u32 = 500;
/// Pages the server's firmware asks for once rdma-core's EQ exists
/// (`cxu-vfio-user --page-request`).
pub const PAGE_REQUEST: u32 = 6;
/// The opcode the peer sends on purpose to see it refused (BAD_OP).
const UNKNOWN_OPCODE: u16 = 0x7ff;

/// The checks `rdma_peer.c` prints, in order.
pub const PEER_CHECKS: &[&str] = &[
    "rdma-device-list",
    "rdma-open",
    "rdma-page-request",
    "rdma-nop",
    "rdma-query-hca-cap",
    "rdma-cap-umem-uid-0",
    "rdma-cap-port-type-eth",
    "rdma-umem",
    "rdma-unknown-opcode",
    "rdma-nop-after-error",
    "rdma-close",
];

/// Links `rdma_peer.c` statically against the cache's libraries into `dir`.
pub fn build_peer(cache_root: &Path, dir: &Path) -> PathBuf {
    let usr = cache_root.join("guest-root/usr");
    let libs = usr.join("lib/x86_64-linux-gnu");
    assert!(
        libs.join("libmlx5.a").exists(),
        "no libmlx5.a in the guest cache ({}): fetch.sh's package list has libibverbs-dev",
        libs.display()
    );
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/qemu_guest/rdma_peer.c");
    let out = dir.join("rdma_peer");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let res = Command::new(cc)
        .args(["-O2", "-Wall", "-static", "-o"])
        .arg(&out)
        .arg(&src)
        .arg(format!("-I{}", usr.join("include").display()))
        .arg(format!("-L{}", libs.display()))
        .args(["-lmlx5", "-libverbs", "-lnl-route-3", "-lnl-3", "-lpthread"])
        .output()
        .expect("run cc");
    assert!(res.status.success(), "{}", show("cc rdma_peer.c", &res));
    out
}

/// The guest script: the peer first (open, commands, close), then cxu's own
/// bench on the same function, depth 1 and 31, both completion modes.
pub fn script(dir: &Path, peer: &Path, cxu: &Path) -> PathBuf {
    let name = |p: &Path| {
        p.file_name()
            .expect("a file")
            .to_string_lossy()
            .into_owned()
    };
    let text = format!(
        r#"#!/bin/sh
for d in /sys/bus/pci/devices/*; do
  if [ "$(cat $d/vendor)" = 0x15b3 ]; then addr=$(basename $d); break; fi
done
echo "guest: rdma-core peer on $addr"
/data/{peer} {NOPS} {QUERIES}
rc=$?
/data/{cxu} --pci $addr bench --depths 1,31 --threads 1 --modes polling,events --commands nop --policies lock-free --no-alone --no-ping-pong --warmup-ms 100 --duration-ms 1000 --repeat 1 --json /tmp/bench.json > /tmp/bench.txt 2>&1
brc=$?
sed -e '/^targets/,$d' -e 's/^/INFO cxu-bench: /' /tmp/bench.txt
echo "RDMA-BENCH-JSON $(tr -d '\n' < /tmp/bench.json)"
echo "guest: cxu bench rc=$brc"
[ $rc -eq 0 ] && [ $brc -eq 0 ]
"#,
        peer = name(peer),
        cxu = name(cxu),
    );
    let path = dir.join("rdma-peer.sh");
    std::fs::write(&path, text).expect("write the rdma script");
    let mut perms = std::fs::metadata(&path).expect("script").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&path, perms).expect("chmod the script");
    path
}

/// What one side measured at one point.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    pub who: String,
    pub mode: String,
    pub depth: u64,
    pub per_sec: f64,
    pub median_us: f64,
}

/// `INFO peer rdma-core depth 1 events: 5000 NOPs/s, median 150.0 us, ...`.
fn peer_figure(stdout: &str) -> Result<Figure, String> {
    let line = stdout
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("INFO peer rdma-core depth 1 events: ")
        })
        .ok_or("the peer printed no figures")?;
    let num = |after: &str| -> Result<f64, String> {
        let rest = line
            .split(after)
            .nth(1)
            .ok_or_else(|| format!("no {after:?} in {line:?}"))?;
        rest.trim()
            .split(|c: char| !(c.is_ascii_digit() || c == '.'))
            .next()
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| format!("no number after {after:?} in {line:?}"))
    };
    let per_sec: f64 = line
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("no rate in {line:?}"))?;
    Ok(Figure {
        who: "rdma-core (C peer)".into(),
        mode: "events".into(),
        depth: 1,
        per_sec,
        median_us: num("median")?,
    })
}

/// cxu's points from the bench JSON the guest printed.
fn cxu_figures(stdout: &str) -> Result<Vec<Figure>, String> {
    let json = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("RDMA-BENCH-JSON "))
        .ok_or("cxu bench printed no JSON")?;
    let v: Value = serde_json::from_str(json).map_err(|e| format!("bench JSON: {e}: {json}"))?;
    let points = v["points"].as_array().ok_or("bench JSON has no points")?;
    points
        .iter()
        .map(|p| {
            Ok(Figure {
                who: "cxu".into(),
                mode: p["mode"].as_str().ok_or("point without mode")?.into(),
                depth: p["depth"].as_u64().ok_or("point without depth")?,
                per_sec: p["commands_per_sec"].as_f64().ok_or("point without rate")?,
                median_us: p["latency"]["p50_ns"].as_f64().ok_or("point without p50")? / 1e3,
            })
        })
        .collect()
}

/// Every figure, the peer's first, and the table of them with the ratios
/// part 6 of issue 17 asks for (cxu at depth 1 in events mode against the
/// peer; cxu at depth 31 against the peer's one at a time).
pub fn figures(stdout: &str) -> Result<(Vec<Figure>, String), String> {
    let peer = peer_figure(stdout)?;
    let cxu = cxu_figures(stdout)?;
    if cxu.len() != 4 {
        return Err(format!("cxu bench gave {} points, not 4", cxu.len()));
    }
    if peer.per_sec <= 0.0 || cxu.iter().any(|f| f.per_sec <= 0.0) {
        return Err("a side completed no commands".into());
    }
    let mut t = vec![
        "INFO peers: NOP over VFIO in the guest, one run".to_string(),
        format!(
            "INFO peers: {:<20} {:<8} {:>5} {:>10} {:>12} {:>9}",
            "driver", "mode", "depth", "NOPs/s", "median us", "x peer"
        ),
    ];
    let mut all = vec![peer.clone()];
    all.extend(cxu);
    for f in &all {
        t.push(format!(
            "INFO peers: {:<20} {:<8} {:>5} {:>10.0} {:>12.1} {:>9.2}",
            f.who,
            f.mode,
            f.depth,
            f.per_sec,
            f.median_us,
            f.per_sec / peer.per_sec
        ));
    }
    Ok((all, t.join("\n")))
}

fn uint(v: &Value, key: &str) -> Result<u64, String> {
    v.get(key)
        .and_then(Value::as_u64)
        .ok_or_else(|| format!("the model's state has no number {key}"))
}

/// The model's side of the peer's run: the first state line whose commands
/// hold a TEARDOWN_HCA (printed when vfio-pci reset the function after
/// rdma-core closed it). The log up to it, from ENABLE_HCA on, is rdma-core's:
/// the open in order, every NOP and QUERY_HCA_CAP, the UMEM, the close; all
/// answered OK but the one unknown opcode sent to be refused. rdma-core's
/// close is a graceful TEARDOWN_HCA (it reads `fast_teardown` where Linux
/// has a reserved bit) and it never reclaims its pages or disables the HCA:
/// the line shows the HCA enabled, every page given still held, no EQ, UAR or
/// UMEM. The next line (printed at the next reset, no command between) shows
/// what vfio-pci's reset left: the HCA disabled, no page held.
pub fn check_model(states: &[Value], min_pages: u64) -> Result<String, String> {
    let has_teardown =
        |s: &Value| commands(s).is_ok_and(|c| c.iter().any(|c| c.opcode == Opcode::TEARDOWN_HCA));
    let k = states
        .iter()
        .position(has_teardown)
        .ok_or("no state line after rdma-core's teardown")?;
    let state = &states[k];
    let all = log(&states[..=k])?;
    let start = all
        .iter()
        .position(|c| c.opcode == Opcode::ENABLE_HCA)
        .ok_or("rdma-core sent no ENABLE_HCA")?;
    let end = all
        .iter()
        .position(|c| c.opcode == Opcode::TEARDOWN_HCA)
        .ok_or("no TEARDOWN_HCA")?;
    let cmds: Vec<Cmd> = all[start..=end].to_vec();
    let report = format!(
        "qemu_guest: rdma-core sent {} commands: {}",
        cmds.len(),
        sequence(&cmds)
    );
    let open = [
        Opcode::ENABLE_HCA,
        Opcode::QUERY_ISSI,
        Opcode::SET_ISSI,
        Opcode::QUERY_PAGES,
        Opcode::MANAGE_PAGES,
        Opcode::ACCESS_REG,
        Opcode::QUERY_HCA_CAP,
        Opcode::QUERY_HCA_CAP,
        Opcode::SET_HCA_CAP,
        Opcode::QUERY_PAGES,
        Opcode::MANAGE_PAGES,
        Opcode::INIT_HCA,
        Opcode::MODIFY_NIC_VPORT_CONTEXT,
        Opcode::ALLOC_UAR,
        Opcode::CREATE_EQ,
    ];
    let close = [
        Opcode::DESTROY_EQ,
        Opcode::DEALLOC_UAR,
        Opcode::TEARDOWN_HCA,
    ];
    let ops: Vec<Opcode> = cmds.iter().map(|c| c.opcode).collect();
    if !ops.starts_with(&open) || !ops.ends_with(&close) {
        return Err(format!(
            "rdma-core's open or close is not as expected\n{report}"
        ));
    }
    let count = |op: Opcode| cmds.iter().filter(|c| c.opcode == op).count() as u32;
    if count(Opcode::NOP) < NOPS || count(Opcode::QUERY_HCA_CAP) < QUERIES + 2 {
        return Err(format!(
            "the model saw too few NOPs or QUERY_HCA_CAPs\n{report}"
        ));
    }
    // Boot pages, init pages, and the page request rdma-core served from its EQ.
    if count(Opcode::MANAGE_PAGES) != 3 {
        return Err(format!(
            "rdma-core did not give the requested pages\n{report}"
        ));
    }
    if count(Opcode::CREATE_UMEM) != 1 || count(Opcode::DESTROY_UMEM) != 1 {
        return Err(format!("no UMEM created and destroyed\n{report}"));
    }
    let refused: Vec<&Cmd> = cmds.iter().filter(|c| c.status != CmdStatus::OK).collect();
    match refused.as_slice() {
        [c] if c.opcode == Opcode(UNKNOWN_OPCODE) && c.status == CmdStatus::BAD_OP_ERR => {}
        _ => {
            let names: Vec<String> = refused.iter().map(|c| c.to_string()).collect();
            return Err(format!(
                "the model refused commands of rdma-core: {}\n{report}",
                names.join(", ")
            ));
        }
    }
    let hca = |s: &Value| s.get("hca").and_then(Value::as_str).map(str::to_owned);
    if hca(state).as_deref() != Some("Enabled") {
        return Err(format!(
            "the HCA is {:?} after rdma-core's graceful teardown, not Enabled",
            hca(state)
        ));
    }
    for key in ["eqs_live", "uars_live", "umems_live"] {
        if uint(state, key)? != 0 {
            return Err(format!(
                "{key} is {} after rdma-core closed",
                uint(state, key)?
            ));
        }
    }
    let given = uint(state, "pages_given")?;
    let held = uint(state, "pages_held")?;
    if given < min_pages || held != given {
        return Err(format!(
            "after rdma-core's teardown the model holds {held} of the {given} pages it was given (at least {min_pages})"
        ));
    }
    let after = states
        .get(k + 1)
        .ok_or("no state line after vfio-pci's reset")?;
    if log(&states[..=k + 1])?.len() != all.len() {
        return Err("commands between rdma-core's close and the next reset".into());
    }
    if hca(after).as_deref() != Some("Disabled") || uint(after, "pages_held")? != 0 {
        return Err(format!(
            "after vfio-pci's reset the HCA is {:?} with {} pages held",
            hca(after),
            uint(after, "pages_held")?
        ));
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A state line whose commands start at log index `from`.
    fn line(hca: &str, held: u64, from: usize, cmds: &[(u16, u8)]) -> Value {
        let list: Vec<String> = cmds
            .iter()
            .map(|(op, s)| format!("[{op},0,{s},0]"))
            .collect();
        serde_json::from_str(&format!(
            r#"{{"hca":"{hca}","pages_held":{held},"pages_given":30,"eqs_live":0,"uars_live":0,"umems_live":0,"commands_from":{from},"commands":[{}]}}"#,
            list.join(",")
        ))
        .unwrap()
    }

    /// The first state line with commands.
    fn state(hca: &str, held: u64, cmds: &[(u16, u8)]) -> Value {
        line(hca, held, 0, cmds)
    }

    fn rdma_run(extra_fail: bool) -> Vec<(u16, u8)> {
        let mut c: Vec<(u16, u8)> = [
            0x104, 0x10a, 0x10b, 0x107, 0x108, 0x805, 0x100, 0x100, 0x109, 0x107, 0x108, 0x102,
            0x755, 0x802, 0x301,
        ]
        .iter()
        .map(|&o| (o, 0))
        .collect();
        c.push((0x108, 0));
        c.extend(std::iter::repeat_n((0x80d, 0), NOPS as usize));
        c.extend(std::iter::repeat_n((0x100, 0), QUERIES as usize));
        c.extend([(0xa08, 0), (0xa0a, 0), (UNKNOWN_OPCODE, 2), (0x80d, 0)]);
        if extra_fail {
            c.push((0x80d, 3));
        }
        c.extend([(0x302, 0), (0x803, 0), (0x103, 0)]);
        c
    }

    #[test]
    fn a_clean_peer_run_passes_and_its_faults_are_named() {
        let run = |extra_fail| {
            let c = rdma_run(extra_fail);
            [state("Enabled", 30, &c), line("Disabled", 0, c.len(), &[])]
        };
        let before = state("Disabled", 0, &[]);
        let [closed, reset] = run(false);
        assert!(check_model(&[before.clone(), closed.clone(), reset.clone()], 30).is_ok());
        assert!(check_model(&[before], 30).is_err(), "no teardown seen");
        let e = check_model(&run(true), 30).unwrap_err();
        assert!(e.contains("refused commands"), "{e}");
        let e = check_model(
            &[state("Initialized", 30, &rdma_run(false)), reset.clone()],
            24,
        )
        .unwrap_err();
        assert!(e.contains("not Enabled"), "{e}");
        let e =
            check_model(&[state("Enabled", 20, &rdma_run(false)), reset.clone()], 30).unwrap_err();
        assert!(e.contains("holds 20"), "{e}");
        let e = check_model(std::slice::from_ref(&closed), 30).unwrap_err();
        assert!(e.contains("no state line after vfio-pci's reset"), "{e}");
        let n = rdma_run(false).len();
        let e = check_model(&[closed.clone(), line("Disabled", 30, n, &[])], 24).unwrap_err();
        assert!(e.contains("after vfio-pci's reset"), "{e}");
        let e =
            check_model(&[closed.clone(), line("Disabled", 0, n, &[(0x80d, 0)])], 24).unwrap_err();
        assert!(e.contains("commands between"), "{e}");
        let mut unserved = rdma_run(false);
        unserved.remove(15);
        let e = check_model(&[state("Enabled", 30, &unserved), reset.clone()], 30).unwrap_err();
        assert!(e.contains("requested pages"), "{e}");
        let mut no_vport = rdma_run(false);
        no_vport.remove(12);
        let e = check_model(&[state("Enabled", 30, &no_vport), reset], 30).unwrap_err();
        assert!(e.contains("open or close"), "{e}");
    }

    #[test]
    fn the_figures_and_the_table_come_from_both_sides() {
        let out = concat!(
            "INFO peer rdma-core depth 1 events: 5000 NOPs/s, median 150.0 us, p99 300.0 us (3000 NOPs)\n",
            r#"RDMA-BENCH-JSON {"points":[{"mode":"polling","depth":1,"commands_per_sec":20000.0,"latency":{"p50_ns":45000}},{"mode":"polling","depth":31,"commands_per_sec":60000.0,"latency":{"p50_ns":400000}},{"mode":"events","depth":1,"commands_per_sec":4000.0,"latency":{"p50_ns":240000}},{"mode":"events","depth":31,"commands_per_sec":50000.0,"latency":{"p50_ns":500000}}]}"#,
            "\n"
        );
        let (f, table) = figures(out).unwrap();
        assert_eq!(f.len(), 5);
        assert_eq!((f[0].per_sec, f[0].median_us), (5000.0, 150.0));
        assert_eq!(
            (f[3].mode.as_str(), f[3].depth, f[3].median_us),
            ("events", 1, 240.0)
        );
        assert!(table.contains("12.00"), "{table}");
        assert!(figures("INFO peer rdma-core depth 1 events: 5000 NOPs/s, median 1 us\n").is_err());
    }
}
