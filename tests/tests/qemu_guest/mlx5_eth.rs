//! What Linux's mlx5e did to the model's Ethernet side, from the server's
//! state lines: one printed when the host pulled the link partner away (the
//! netdev open), one after `ip link set down`, and the last one after
//! `rmmod`. The guest script (`mlx5_core.sh`) prints the cues the host acts
//! on ([`CUES`]) and waits for the effect of each (the carrier, a kernel log
//! line), so no step depends on timing.

use serde_json::Value;

/// Console cues of the guest and the server commands the host sends for each.
pub const CUES: &[(&str, &[&str])] = &[
    (
        "guest: mlx5 netdev up, waiting for the link partner to leave",
        &["link 1 down"],
    ),
    (
        "guest: mlx5 carrier down, waiting for the link partner to come back",
        &["link 1 up"],
    ),
    (
        "guest: mlx5 netdev down, waiting for the module event",
        &["state", "module 0 plugged"],
    ),
];

fn n(v: &Value, path: &[&str]) -> Result<u64, String> {
    path.iter()
        .try_fold(v, |v, k| v.get(k))
        .and_then(|v| {
            v.as_u64()
                .or_else(|| v.as_array().map(|a| a.len() as u64))
                .or_else(|| v.as_bool().map(u64::from))
        })
        .ok_or_else(|| format!("the model's state has no {}", path.join(".")))
}

fn state_for<'a>(states: &'a [Value], reason: &str) -> Result<&'a Value, String> {
    states
        .iter()
        .find(|s| s.get("reason").and_then(Value::as_str) == Some(reason))
        .ok_or_else(|| format!("the server printed no state for {reason:?}"))
}

/// Object counts of a state, for the report.
fn objects(s: &Value) -> Result<String, String> {
    let keys = [
        ("pds", &["eth", "pds"][..]),
        ("tds", &["eth", "tds"]),
        ("mkeys", &["eth", "mkeys"]),
        ("q_counters", &["eth", "q_counters"]),
        ("tises", &["eth", "tises"]),
        ("tirs", &["eth", "tirs"]),
        ("rqts", &["eth", "rqts"]),
        ("flow_tables", &["eth", "flow_tables"]),
        ("flow_groups", &["eth", "flow_groups"]),
        ("flow_entries", &["eth", "flow_entries"]),
        ("cqs", &["cqs"]),
        ("sqs", &["sqs"]),
        ("rqs", &["rqs"]),
    ];
    let mut out = Vec::new();
    for (name, path) in keys {
        out.push(format!("{name} {}", n(s, path)?));
    }
    Ok(out.join(", "))
}

/// Checks the Ethernet states; `guest_mac` is the MAC the guest's netdev has.
pub fn check(server_stdout: &str, guest_mac: &str) -> Result<String, String> {
    let states = super::model_state::states(server_stdout)?;
    let open = state_for(&states, "link 1 down")?;
    let down = state_for(&states, "state")?;
    let last = states.last().ok_or("no state line")?;
    let mac = open.get("mac").and_then(Value::as_str).unwrap_or("");
    if mac != guest_mac {
        return Err(format!(
            "the guest's netdev has MAC {guest_mac:?}, the model's NIC vport {mac:?}"
        ));
    }
    // The open netdev: its control objects, steering with a root table, and
    // queues beyond the drop RQ (a channel's CQs, SQ and RQ).
    for path in [
        &["eth", "pds"][..],
        &["eth", "tds"],
        &["eth", "mkeys"],
        &["eth", "tises"],
        &["eth", "tirs"],
        &["eth", "rqts"],
        &["eth", "flow_tables"],
        &["eth", "flow_groups"],
        &["eth", "flow_entries"],
        &["eth", "rx_root"],
    ] {
        if n(open, path)? == 0 {
            return Err(format!(
                "with the netdev up the model has no {}: {}",
                path.join("."),
                objects(open)?
            ));
        }
    }
    if n(open, &["sqs"])? == 0 || n(open, &["rqs"])? < 2 || n(open, &["cqs"])? < 3 {
        return Err(format!(
            "with the netdev up the model lacks its channel's queues: {}",
            objects(open)?
        ));
    }
    if n(open, &["port", "admin"])? != 1 || n(open, &["port", "link"])? != 0 {
        return Err("the open netdev's port is not admin up with its link pulled".into());
    }
    // After `ip link set down`: the channels' queues are gone (the drop RQ
    // and its CQ stay until removal), the port is admin down; the TIRs, RQTs
    // and flow tables of the netdev stay until removal, as mlx5e keeps them.
    if n(down, &["sqs"])? != 0 || n(down, &["rqs"])? != 1 || n(down, &["cqs"])? != 1 {
        return Err(format!(
            "after ip link set down the model still has queues: {}",
            objects(down)?
        ));
    }
    if n(down, &["port", "admin"])? != 2 {
        return Err("after ip link set down the port is not admin down".into());
    }
    // After rmmod: nothing.
    let left = objects(last)?;
    if left.split(", ").any(|kv| !kv.ends_with(" 0")) || n(last, &["eth", "rx_root"])? != 0 {
        return Err(format!("after rmmod the model still has objects: {left}"));
    }
    Ok(format!(
        "qemu_guest: mlx5e on the model, MAC {mac}\n  up:   {}\n  down: {}\n  rmmod: {left}",
        objects(open)?,
        objects(down)?
    ))
}

/// The MAC the guest printed for its netdev (`guest: mlx5 netdev X mac M`).
pub fn guest_mac(stdout: &str) -> Option<&str> {
    stdout.lines().find_map(|l| {
        let rest = l.trim().strip_prefix("guest: mlx5 netdev ")?;
        rest.split_once(" mac ").map(|(_, m)| m.trim())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(reason: &str, tirs: u64, sqs: u64, rqs: u64, cqs: u64, admin: u64) -> String {
        let list = |k: u64| vec!["{}"; k as usize].join(",");
        format!(
            concat!(
                r#"cxu-vfio-user: state {{"reason":"{}","mac":"02:c9:5e:00:00:01","port":{{"admin":{},"oper":2,"link":{}}},"#,
                r#""eth":{{"pds":{t},"tds":{t},"mkeys":{t},"q_counters":{t},"tises":{t},"tirs":{t},"rqts":{t},"#,
                r#""flow_tables":{t},"flow_groups":{t},"flow_entries":{t},"rx_root":{}}},"#,
                r#""cqs":[{}],"sqs":[{}],"rqs":[{}]}}"#
            ),
            reason,
            admin,
            reason != "link 1 down",
            tirs != 0,
            list(cqs),
            list(sqs),
            list(rqs),
            t = tirs
        )
    }

    #[test]
    fn a_clean_bring_up_and_removal_passes() {
        let s = [
            line("link 1 down", 9, 1, 2, 3, 1),
            line("state", 9, 0, 1, 1, 2),
            line("connection closed", 0, 0, 0, 0, 2),
        ]
        .join("\n");
        let r = check(&s, "02:c9:5e:00:00:01").unwrap();
        assert!(r.contains("tirs 9"), "{r}");
        assert!(check(&s, "02:00:00:00:00:02").unwrap_err().contains("MAC"));
    }

    #[test]
    fn leftovers_or_missing_objects_fail() {
        let up = line("link 1 down", 9, 1, 2, 3, 1);
        let down = line("state", 9, 0, 1, 1, 2);
        let left = line("connection closed", 1, 0, 0, 0, 2);
        let e = check(
            &[up.clone(), down.clone(), left].join("\n"),
            "02:c9:5e:00:00:01",
        );
        assert!(e.unwrap_err().contains("after rmmod"));
        let open_queues_left = line("state", 9, 1, 2, 3, 2);
        let clean = line("connection closed", 0, 0, 0, 0, 2);
        let e = check(
            &[up, open_queues_left, clean.clone()].join("\n"),
            "02:c9:5e:00:00:01",
        );
        assert!(e.unwrap_err().contains("still has queues"));
        let no_tirs = line("link 1 down", 0, 1, 2, 3, 1);
        let e = check(&[no_tirs, down, clean].join("\n"), "02:c9:5e:00:00:01");
        assert!(e
            .unwrap_err()
            .contains("with the netdev up the model has no eth."));
    }

    #[test]
    fn the_guest_mac_line_is_found() {
        assert_eq!(
            guest_mac("x\nguest: mlx5 netdev eth0 mac 02:c9:5e:00:00:01\n"),
            Some("02:c9:5e:00:00:01")
        );
        assert_eq!(guest_mac("guest: mlx5 netdev eth0\n"), None);
    }
}
