//! What the guest set through devlink and read over RPC, compared with the
//! model's own registers.
//!
//! The guest prints `INFO devlink-set: trap NAME action A`, `... group NAME
//! policer P`, `... policer P rate R burst B` and `INFO rpc-adapter: psid S
//! ieee_vendor_id N`; `cxu-vfio-user` prints `cxu-vfio-user: state {...}`
//! (HPKT, HTGT and QPCR by register index) before each device reset and when
//! the connection ends. The guest's devlink changes are the last trap
//! configuration of the run (the second probe registers no devlink instance,
//! and a function reset clears the registers), so the last state that holds
//! traps must show every one of them. Names and ids are mapped to register
//! indexes with the driver's catalog; policer `p` is QPCR pid `p - 1` and a
//! burst is stored as its log2 (`driver/src/devlink/trap_hw.rs`).

use cxu_driver::devlink::{catalog, trap_hw};
use devlink_core::trap::{generic_trap_group_id, generic_trap_id};
use devlink_core::TrapAction;
use serde_json::Value;

/// One thing the guest reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Setting {
    /// `trap NAME action A`.
    Trap { name: String, action: String },
    /// `group NAME policer P`.
    Group { name: String, policer: u32 },
    /// `policer P rate R burst B`.
    Policer { id: u32, rate: u64, burst: u64 },
    /// The RPC's QUERY_ADAPTER answer.
    Adapter { psid: String, vendor: u64 },
}

impl Setting {
    fn kind(&self) -> &'static str {
        match self {
            Setting::Trap { .. } => "trap action",
            Setting::Group { .. } => "group binding",
            Setting::Policer { .. } => "policer",
            Setting::Adapter { .. } => "RPC adapter",
        }
    }
}

fn num<T: std::str::FromStr>(what: &str, s: &str) -> Result<T, String> {
    s.parse()
        .map_err(|_| format!("{what} {s:?} is not a number"))
}

fn parse_set(words: &[&str]) -> Result<Setting, String> {
    match words {
        ["trap", name, "action", a] => Ok(Setting::Trap {
            name: name.to_string(),
            action: a.to_string(),
        }),
        ["group", name, "policer", p] => Ok(Setting::Group {
            name: name.to_string(),
            policer: num("policer", p)?,
        }),
        ["policer", p, "rate", r, "burst", b] => Ok(Setting::Policer {
            id: num("policer", p)?,
            rate: num("rate", r)?,
            burst: num("burst", b)?,
        }),
        _ => Err(format!("unknown devlink-set line {words:?}")),
    }
}

/// The settings in the guest's output, in order.
pub fn settings(stdout: &str) -> Result<Vec<Setting>, String> {
    let mut v = Vec::new();
    for line in stdout.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("INFO devlink-set: ") {
            v.push(parse_set(&rest.split_whitespace().collect::<Vec<_>>())?);
        } else if let Some(rest) = line.strip_prefix("INFO rpc-adapter: ") {
            match rest.split_whitespace().collect::<Vec<_>>()[..] {
                ["psid", psid, "ieee_vendor_id", n] => v.push(Setting::Adapter {
                    psid: psid.to_string(),
                    vendor: num("vendor id", n)?,
                }),
                _ => return Err(format!("unknown rpc-adapter line {rest:?}")),
            }
        }
    }
    Ok(v)
}

/// The server's state lines, parsed, in order.
pub fn states(server_stdout: &str) -> Result<Vec<Value>, String> {
    server_stdout
        .lines()
        .filter_map(|l| l.trim().strip_prefix("cxu-vfio-user: state "))
        .map(|j| serde_json::from_str(j).map_err(|e| format!("state line {j:?}: {e}")))
        .collect()
}

fn field<'a>(v: &'a Value, path: &[&str]) -> Result<&'a Value, String> {
    path.iter()
        .try_fold(v, |v, k| v.get(k))
        .ok_or_else(|| format!("the model's state has no {}", path.join(".")))
}

fn uint(v: &Value, path: &[&str]) -> Result<u64, String> {
    field(v, path)?
        .as_u64()
        .ok_or_else(|| format!("{} is not a number", path.join(".")))
}

fn devlink_action(a: &str) -> Result<TrapAction, String> {
    match a {
        "drop" => Ok(TrapAction::Drop),
        "trap" => Ok(TrapAction::Trap),
        "mirror" => Ok(TrapAction::Mirror),
        _ => Err(format!("action {a:?}")),
    }
}

/// One setting against `state`; what matched, or why not.
pub fn compare(s: &Setting, state: &Value) -> Result<String, String> {
    match s {
        Setting::Trap { name, action } => {
            let id = generic_trap_id(name).ok_or_else(|| format!("trap {name}"))?;
            let hw = catalog::trap_hw(id).to_string();
            let want = trap_hw::hw_action(devlink_action(action)?) as u64;
            let got = uint(state, &["traps", &hw, "action"])?;
            if got != want {
                return Err(format!(
                    "trap {name} (HPKT {hw}): action {got}, the guest set {action} ({want})"
                ));
            }
            Ok(format!(
                "trap {name} action {action}: HPKT {hw} action {got}"
            ))
        }
        Setting::Group { name, policer } => {
            let hw = generic_trap_group_id(name)
                .and_then(catalog::group_hw)
                .ok_or_else(|| format!("trap group {name}"))?
                .to_string();
            let enabled = field(state, &["groups", &hw, "policer_enabled"])?.as_bool();
            let pid = uint(state, &["groups", &hw, "pid"])?;
            if enabled != Some(true) || pid + 1 != u64::from(*policer) {
                return Err(format!(
                    "group {name} (HTGT {hw}): pide {enabled:?} pid {pid}, the guest bound policer {policer}"
                ));
            }
            Ok(format!(
                "group {name} policer {policer}: HTGT {hw} pid {pid}"
            ))
        }
        Setting::Policer { id, rate, burst } => {
            let pid = id
                .checked_sub(1)
                .ok_or("policer 0 does not exist")?
                .to_string();
            let cir = uint(state, &["policers", &pid, "cir"])?;
            let cbs = uint(state, &["policers", &pid, "cbs"])?;
            if cir != *rate || 1u64.checked_shl(cbs as u32) != Some(*burst) {
                return Err(format!(
                    "policer {id} (QPCR {pid}): cir {cir} cbs {cbs}, the guest set rate {rate} burst {burst}"
                ));
            }
            Ok(format!(
                "policer {id} rate {rate} burst {burst}: QPCR {pid} cir {cir} cbs {cbs}"
            ))
        }
        Setting::Adapter { psid, vendor } => {
            let p = field(state, &["psid"])?.as_str().unwrap_or_default();
            let v = uint(state, &["ieee_vendor_id"])?;
            if (p, v) != (psid.as_str(), *vendor) {
                return Err(format!(
                    "the model's adapter is {p:?} {v:#x}, the guest's RPC read {psid:?} {vendor:#x}"
                ));
            }
            Ok(format!("QUERY_ADAPTER over RPC: psid {psid} vendor {v:#x}"))
        }
    }
}

/// Checks every setting of the guest's output against the last state with
/// traps in the server's output; a report of what matched.
pub fn check(guest_stdout: &str, server_stdout: &str) -> Result<String, String> {
    let set = settings(guest_stdout)?;
    for kind in ["trap action", "group binding", "policer", "RPC adapter"] {
        if !set.iter().any(|s| s.kind() == kind) {
            return Err(format!("the guest reported no {kind}"));
        }
    }
    let all = states(server_stdout)?;
    let state = all
        .iter()
        .rev()
        .find(|s| {
            s.get("traps")
                .and_then(Value::as_object)
                .is_some_and(|t| !t.is_empty())
        })
        .ok_or_else(|| format!("none of the {} state lines holds a trap", all.len()))?;
    // The command log (thousands of entries) stays out of the report.
    let mut shown = state.clone();
    if let Some(o) = shown.as_object_mut() {
        o.remove("commands");
    }
    let mut report = vec![format!(
        "qemu_guest: model state ({} of {} lines, at {}): {shown}",
        all.iter()
            .position(|s| std::ptr::eq(s, state))
            .map_or(0, |i| i + 1),
        all.len(),
        state.get("reason").and_then(Value::as_str).unwrap_or("?")
    )];
    for s in &set {
        report.push(format!(
            "qemu_guest: the model shows {}",
            compare(s, state)?
        ));
    }
    Ok(report.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GUEST: &str = "PASS x\nINFO devlink-set: trap source_mac_is_multicast action trap\n\
        INFO devlink-set: policer 1 rate 2000 burst 512\n\
        INFO devlink-set: group l2_drops policer 1\n\
        INFO rpc-adapter: psid MT_0000000008 ieee_vendor_id 713\n";

    fn state(action: u8, cbs: u8) -> String {
        let id = generic_trap_id("source_mac_is_multicast").unwrap();
        format!(
            r#"cxu-vfio-user: state {{"reason":"reset","psid":"MT_0000000008","ieee_vendor_id":713,"traps":{{"{id}":{{"action":{action},"group":0}}}},"groups":{{"0":{{"policer_enabled":true,"pid":0}}}},"policers":{{"0":{{"cir":2000,"cbs":{cbs}}}}}}}"#
        )
    }

    const EMPTY: &str = r#"cxu-vfio-user: state {"reason":"connection closed","psid":"MT_0000000008","ieee_vendor_id":713,"traps":{},"groups":{},"policers":{}}"#;

    #[test]
    fn the_last_state_with_traps_must_show_every_setting() {
        let ok = format!("{}\n{EMPTY}\n", state(1, 9));
        let r = check(GUEST, &ok).unwrap();
        assert_eq!(r.lines().count(), 5, "{r}");
        // Trap action still discard (3), or a burst of 256 (cbs 8): refused.
        assert!(check(GUEST, &state(3, 9)).unwrap_err().contains("action 3"));
        assert!(check(GUEST, &state(1, 8)).unwrap_err().contains("cbs 8"));
        // An earlier state does not count once a later one holds traps.
        let later = format!("{}\n{}\n", state(1, 9), state(3, 9));
        assert!(check(GUEST, &later).is_err());
        assert!(check(GUEST, EMPTY).unwrap_err().contains("holds a trap"));
    }

    #[test]
    fn a_guest_that_reported_nothing_fails() {
        let e = check("PASS x\n", &state(1, 9)).unwrap_err();
        assert!(e.contains("no trap action"), "{e}");
        assert!(settings("INFO devlink-set: trap x act y").is_err());
    }
}
