//! Linux's command path beside cxu's, in the same guest on the same model
//! (issue 17 part 6): `mlx5_cmd_stats.sh` prints `INFO cmd-stat kernel NAME
//! n=N average_ns=A` from mlx5_core's debugfs while it is bound, then `INFO
//! cmd-stat cxu NAME n=N average_ns=A` from cxu's driver on the same function
//! after mlx5_core is removed. Here the commands both sent are put side by
//! side (`INFO cmd-latency ...`).
//!
//! cxu's run happens after mlx5_core's, so the server's last state line holds
//! both drivers' commands: [`before_cxu`] gives the server's output up to
//! cxu's run, for the checks of what mlx5_core alone did.

use std::collections::BTreeMap;

/// The op_mod of the NOP cxu's run sends first (`cxu-guest/cmd_stats.rs`).
const CXU_MARK: u64 = 0x4400;

/// Commands both drivers send that the report must show (the list).
pub const EXPECTED: &[&str] = &[
    "QUERY_HCA_CAP",
    "MANAGE_PAGES",
    "QUERY_ADAPTER",
    "ACCESS_REG",
];

/// `who -> name -> (n, average ns)`.
fn stats(stdout: &str) -> BTreeMap<String, BTreeMap<String, (u64, u64)>> {
    let mut m: BTreeMap<String, BTreeMap<String, (u64, u64)>> = BTreeMap::new();
    for l in stdout.lines() {
        let Some(rest) = l.trim().strip_prefix("INFO cmd-stat ") else {
            continue;
        };
        let w: Vec<&str> = rest.split_whitespace().collect();
        let [who, name, n, avg] = w[..] else {
            continue;
        };
        let num = |s: &str, k: &str| s.strip_prefix(k)?.parse::<u64>().ok();
        // cxu's opcode names carry their number: `ACCESS_REG(0x805)`.
        let name = name.split('(').next().unwrap_or(name);
        if let (Some(n), Some(a)) = (num(n, "n="), num(avg, "average_ns=")) {
            m.entry(who.to_string())
                .or_default()
                .insert(name.to_string(), (n, a));
        }
    }
    m
}

/// The side-by-side report, or why it cannot be made.
pub fn report(stdout: &str) -> Result<String, String> {
    let s = stats(stdout);
    let failed: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("INFO cmd-stat") && l.contains(": "))
        .collect();
    let (Some(k), Some(c)) = (s.get("kernel"), s.get("cxu")) else {
        return Err(format!(
            "no command statistics from {}: {failed:?}",
            if s.contains_key("kernel") {
                "cxu"
            } else {
                "the kernel"
            }
        ));
    };
    let mut out = vec![
        "INFO cmd-latency: mean latency per command in the same guest on the same model (TCG, loaded 2-core host; \
         kernel: mlx5_core's debugfs average, doorbell to completion handler, its EQ interrupt; \
         cxu: submit to completion, events mode)"
            .to_string(),
    ];
    for (name, &(kn, ka)) in k {
        let Some(&(cn, ca)) = c.get(name) else {
            continue;
        };
        out.push(format!(
            "INFO cmd-latency {name}: kernel {:.1} us (n={kn}), cxu {:.1} us (n={cn}), cxu/kernel {:.2}",
            ka as f64 / 1e3,
            ca as f64 / 1e3,
            ca as f64 / ka.max(1) as f64
        ));
    }
    let missing: Vec<&&str> = EXPECTED
        .iter()
        .filter(|n| !k.contains_key(**n) || !c.contains_key(**n))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "{missing:?} not measured by both drivers (kernel: {:?}, cxu: {:?})",
            k.keys().collect::<Vec<_>>(),
            c.keys().collect::<Vec<_>>()
        ));
    }
    Ok(out.join("\n"))
}

/// The server's output before cxu's run (its counts line names the window
/// by the mark of cxu's first NOP), or all of it when cxu did not run.
pub fn before_cxu(states: &str) -> &str {
    let mut at = 0;
    for l in states.split_inclusive('\n') {
        if let Some(j) = l.strip_prefix("cxu-vfio-user: counts ") {
            let marked = serde_json::from_str::<serde_json::Value>(j)
                .ok()
                .and_then(|v| v.get("marks")?.as_array().cloned())
                .is_some_and(|m| m.iter().any(|x| x.as_u64() == Some(CXU_MARK)));
            if marked {
                return &states[..at];
            }
        }
        at += l.len();
    }
    states
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_drivers_side_by_side_and_the_server_output_cut_before_cxu() {
        let mut out = String::new();
        for who in ["kernel", "cxu"] {
            for (i, n) in EXPECTED.iter().chain(&["INIT_HCA"]).enumerate() {
                // cxu prints the opcode's number beside its name.
                let n = if who == "cxu" {
                    format!("{n}(0x1)")
                } else {
                    n.to_string()
                };
                out.push_str(&format!(
                    "INFO cmd-stat {who} {n} n=3 average_ns={}\n",
                    1000 * (i + 1)
                ));
            }
        }
        out.push_str("INFO cmd-stat kernel CREATE_MKEY n=2 average_ns=5\n");
        let r = report(&out).unwrap();
        assert!(r.contains("INFO cmd-latency QUERY_HCA_CAP: kernel 1.0 us (n=3), cxu 1.0 us (n=3), cxu/kernel 1.00"), "{r}");
        assert!(!r.contains("CREATE_MKEY"), "{r}");
        assert!(report(&out.replace("cxu ACCESS_REG(", "cxu X(")).is_err());
        assert!(report("INFO cmd-stat cxu: failed: probe").is_err());

        let states = "cxu-vfio-user: counts {\"marks\":[]}\ncxu-vfio-user: state {\"a\":1}\ncxu-vfio-user: counts {\"marks\":[17408]}\ncxu-vfio-user: state {\"a\":2}\n";
        assert_eq!(
            before_cxu(states),
            "cxu-vfio-user: counts {\"marks\":[]}\ncxu-vfio-user: state {\"a\":1}\n"
        );
        assert_eq!(before_cxu("x\n"), "x\n");
    }
}
