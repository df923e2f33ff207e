//! What Linux's mlx5e did to the model's Ethernet side, from the server's
//! state lines: one printed when the host pulled the link partner away (the
//! netdev open), one after `ip link set down`, and the last one after
//! `rmmod`. The guest script (`mlx5_core.sh`) prints the cues the host acts
//! on ([`CUES`]) and waits for the effect of each (the carrier, a kernel log
//! line), so no step depends on timing.

use serde_json::Value;

/// The guest netdev's address (the NIC vport's permanent MAC) and IPv4
/// address, and the host's peer the guest has a static neighbour for.
pub const GUEST_MAC: [u8; 6] = [0x02, 0xC9, 0x5E, 0, 0, 1];
pub const GUEST_IP: [u8; 4] = [192, 0, 2, 1];
pub const PEER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 2];
pub const PEER_IP: [u8; 4] = [192, 0, 2, 2];
/// The guest's 802.1Q VLAN device on the netdev, and its addresses.
pub const VLAN_ID: u16 = 10;
pub const GUEST_VLAN_IP: [u8; 4] = [198, 51, 100, 1];
pub const PEER_VLAN_IP: [u8; 4] = [198, 51, 100, 2];
/// The echo request's identifier and sequence number, and its payload.
const ECHO_ID: u16 = 0xC0DE;
const ECHO_SEQ: u16 = 7;
const ECHO_PAYLOAD: &[u8; 56] = b"cxu: an echo request delivered by the model to mlx5e ...";

/// Console cues of the guest and the server commands the host sends for each
/// (resolved by [`super::mlx5_offload::resolve`]).
pub fn cues() -> Vec<(&'static str, Vec<String>)> {
    let hex = |f: Vec<u8>| -> String { f.iter().map(|b| format!("{b:02x}")).collect() };
    let c = |l: &[&str]| l.iter().map(|s| s.to_string()).collect();
    vec![
        (
            "guest: mlx5 192.0.2.1 up, waiting for an echo request from 192.0.2.2",
            vec![format!("rx 1 {}", hex(echo_request()))],
        ),
        (
            "guest: mlx5 198.51.100.1 up on VLAN 10, waiting for a tagged echo request",
            vec![format!("rx 1 {}", hex(vlan_echo_request()))],
        ),
        (
            "guest: mlx5 connecting to 192.0.2.2:5001, waiting for the SYN-ACK",
            c(&[super::mlx5_offload::SYN_ACK]),
        ),
        (
            "guest: mlx5 netdev up, waiting for the link partner to leave",
            c(&["link 1 down"]),
        ),
        (
            "guest: mlx5 carrier down, waiting for the link partner to come back",
            c(&["link 1 up"]),
        ),
        (
            "guest: mlx5 netdev down, waiting for the module event",
            c(&["state", "module 0 plugged"]),
        ),
    ]
}

/// The Internet checksum of `b` (ones' complement of the ones' complement sum).
pub fn inet_csum(b: &[u8]) -> u16 {
    let mut s: u32 = b
        .chunks(2)
        .map(|c| (u32::from(c[0]) << 8) | u32::from(c.get(1).copied().unwrap_or(0)))
        .sum();
    while s > 0xFFFF {
        s = (s & 0xFFFF) + (s >> 16);
    }
    !(s as u16)
}

/// An Ethernet + IPv4 + ICMP frame from `src` to `dst`, checksums right.
fn icmp_frame(
    (src_mac, src_ip): ([u8; 6], [u8; 4]),
    (dst_mac, dst_ip): ([u8; 6], [u8; 4]),
    icmp_type: u8,
) -> Vec<u8> {
    let mut icmp = vec![icmp_type, 0, 0, 0];
    icmp.extend_from_slice(&ECHO_ID.to_be_bytes());
    icmp.extend_from_slice(&ECHO_SEQ.to_be_bytes());
    icmp.extend_from_slice(ECHO_PAYLOAD);
    let c = inet_csum(&icmp);
    icmp[2..4].copy_from_slice(&c.to_be_bytes());
    let mut ip = vec![0x45, 0, 0, 0, 0x12, 0x34, 0x40, 0, 64, 1, 0, 0];
    ip[2..4].copy_from_slice(&((20 + icmp.len()) as u16).to_be_bytes());
    ip.extend_from_slice(&src_ip);
    ip.extend_from_slice(&dst_ip);
    let c = inet_csum(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    let mut f = dst_mac.to_vec();
    f.extend_from_slice(&src_mac);
    f.extend_from_slice(&[0x08, 0x00]);
    f.extend_from_slice(&ip);
    f.extend_from_slice(&icmp);
    f
}

/// The echo request the host delivers: from the peer to the guest.
pub fn echo_request() -> Vec<u8> {
    icmp_frame((PEER_MAC, PEER_IP), (GUEST_MAC, GUEST_IP), 8)
}

/// The same request to the guest's VLAN device: tagged with [`VLAN_ID`]
/// (the model strips the tag into the CQE, mlx5e hands it to 8021q).
pub fn vlan_echo_request() -> Vec<u8> {
    let f = icmp_frame((PEER_MAC, PEER_VLAN_IP), (GUEST_MAC, GUEST_VLAN_IP), 8);
    let tag = [0x81, 0x00, (VLAN_ID >> 8) as u8, VLAN_ID as u8];
    [&f[..12], &tag[..], &f[12..]].concat()
}

/// Why `f` is not the guest's tagged echo reply to [`vlan_echo_request`]
/// (mlx5e asks the NIC to insert the tag), if it is not.
fn not_the_vlan_reply(f: &[u8]) -> Option<String> {
    let tag = [0x81, 0x00, (VLAN_ID >> 8) as u8, VLAN_ID as u8];
    if f.get(12..16) != Some(&tag[..]) {
        return Some("no 802.1Q tag of VLAN 10".into());
    }
    let untagged = [&f[..12], &f[16..]].concat();
    not_the_reply(&untagged, (GUEST_VLAN_IP, PEER_VLAN_IP))
}

/// Why `f` is not the guest's echo reply to [`echo_request`] (from `ips.0`
/// to `ips.1`), if it is not.
fn not_the_reply(f: &[u8], (guest_ip, peer_ip): ([u8; 4], [u8; 4])) -> Option<String> {
    if f.len() < 14 + 20 + 8 + ECHO_PAYLOAD.len() {
        return Some(format!("{} bytes", f.len()));
    }
    if f[..6] != PEER_MAC || f[6..12] != GUEST_MAC || f[12..14] != [0x08, 0x00] {
        return Some("not IPv4 from the guest to the peer".into());
    }
    let ip = &f[14..];
    let ihl = usize::from(ip[0] & 0xF) * 4;
    let len = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    if ip[0] >> 4 != 4 || ihl < 20 || len < ihl + 8 || len > ip.len() {
        return Some("a malformed IPv4 header".into());
    }
    if ip[9] != 1 || ip[12..16] != guest_ip || ip[16..20] != peer_ip {
        return Some(format!("not ICMP from {guest_ip:?} to {peer_ip:?}"));
    }
    if inet_csum(&ip[..ihl]) != 0 {
        return Some("a wrong IPv4 header checksum".into());
    }
    let icmp = &ip[ihl..len];
    if icmp[..2] != [0, 0] {
        return Some(format!("ICMP type {} code {}", icmp[0], icmp[1]));
    }
    if icmp[4..6] != ECHO_ID.to_be_bytes() || icmp[6..8] != ECHO_SEQ.to_be_bytes() {
        return Some("another echo id or sequence number".into());
    }
    if icmp[8..] != ECHO_PAYLOAD[..] {
        return Some("another payload".into());
    }
    if inet_csum(icmp) != 0 {
        return Some("a wrong ICMP checksum".into());
    }
    None
}

/// The frames the server printed (`cxu-vfio-user: tx {...}`).
pub fn tx_frames(server_stdout: &str) -> Result<Vec<Vec<u8>>, String> {
    server_stdout
        .lines()
        .filter_map(|l| l.strip_prefix("cxu-vfio-user: tx "))
        .map(|j| {
            let v: Value = serde_json::from_str(j).map_err(|e| format!("tx line {j:?}: {e}"))?;
            let hex = v.get("hex").and_then(Value::as_str).unwrap_or("");
            let bytes = (0..hex.len() / 2)
                .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16))
                .collect::<Result<Vec<u8>, _>>()
                .map_err(|e| format!("tx line {j:?}: {e}"))?;
            if v.get("len").and_then(Value::as_u64) != Some(bytes.len() as u64) {
                return Err(format!("tx line {j:?}: len is not the hex's"));
            }
            Ok(bytes)
        })
        .collect()
}

/// Checks the packets both ways: the model delivered both echo requests
/// (plain, then tagged) to an RQ, and among the frames the guest sent are
/// both echo replies, byte exact, the second with its VLAN tag inserted.
pub fn check_echo(server_stdout: &str) -> Result<String, String> {
    // The server's rx line of each request, by its length (the SYN-ACK the
    // offload check delivers has its own line too).
    let rx_line = |len: usize| {
        let tag = format!("\"len\":{len},");
        server_stdout
            .lines()
            .filter_map(|l| l.strip_prefix("cxu-vfio-user: rx "))
            .find(|l| l.contains(&tag))
            .ok_or_else(|| format!("the server printed no rx line of the {len}-byte echo request"))
    };
    let rx = [
        rx_line(echo_request().len())?,
        rx_line(vlan_echo_request().len())?,
    ];
    if let Some(r) = rx.iter().find(|r| !r.contains("Delivered")) {
        return Err(format!("an echo request was not delivered: {r}"));
    }
    let frames = tx_frames(server_stdout)?;
    let find = |not: &dyn Fn(&[u8]) -> Option<String>, what: &str| {
        let mut why = Vec::new();
        for f in &frames {
            match not(f) {
                None => return Ok(f.len()),
                Some(w) => why.push(w),
            }
        }
        Err(format!(
            "no {what} among the {} frames the guest sent: {why:?}",
            frames.len()
        ))
    };
    let plain = find(&|f| not_the_reply(f, (GUEST_IP, PEER_IP)), "echo reply")?;
    let tagged = find(&not_the_vlan_reply, "VLAN 10 echo reply")?;
    Ok(format!(
        "qemu_guest: mlx5e answered the model's echo requests ({}) with a {plain}-byte echo reply and, on VLAN 10, a {tagged}-byte tagged one, among {} frames it sent",
        rx.join("; "),
        frames.len()
    ))
}

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

    fn tx_line(f: &[u8]) -> String {
        let hex: String = f.iter().map(|b| format!("{b:02x}")).collect();
        format!(
            r#"cxu-vfio-user: tx {{"port":1,"len":{},"hex":"{hex}"}}"#,
            f.len()
        )
    }

    #[test]
    fn both_echo_replies_are_found_and_a_wrong_one_is_not() {
        let req = echo_request();
        assert_eq!(req.len(), 98);
        assert_eq!(inet_csum(&req[14..34]), 0);
        assert_eq!(inet_csum(&req[34..]), 0);
        let vreq = vlan_echo_request();
        assert_eq!((vreq.len(), &vreq[12..16]), (102, &[0x81, 0, 0, 10][..]));
        let reply = icmp_frame((GUEST_MAC, GUEST_IP), (PEER_MAC, PEER_IP), 0);
        let untagged = icmp_frame((GUEST_MAC, GUEST_VLAN_IP), (PEER_MAC, PEER_VLAN_IP), 0);
        let vreply = [&untagged[..12], &[0x81, 0, 0, 10][..], &untagged[12..]].concat();
        let rx = r#"cxu-vfio-user: rx {"port":1,"len":98,"outcome":"Delivered { rqn: 2, wqe_counter: 0 }"}"#;
        let vrx = r#"cxu-vfio-user: rx {"port":1,"len":102,"outcome":"Delivered { rqn: 2, wqe_counter: 1 }"}"#;
        let rxs = [rx, vrx].join("\n");
        let ok = [
            rxs.clone(),
            tx_line(&req[..60]),
            tx_line(&reply),
            tx_line(&vreply),
        ]
        .join("\n");
        let report = check_echo(&ok).unwrap();
        assert!(report.contains("98-byte echo reply"), "{report}");
        assert!(report.contains("102-byte tagged"), "{report}");
        let mut bad = reply.clone();
        bad[14 + 20 + 7] ^= 1; // the sequence number
        let out = [rxs.clone(), tx_line(&bad), tx_line(&vreply)].join("\n");
        assert!(check_echo(&out).unwrap_err().contains("sequence"));
        let mut bad = reply.clone();
        bad[60] ^= 1; // the payload, not the checksum
        let out = [rxs.clone(), tx_line(&bad), tx_line(&vreply)].join("\n");
        assert!(check_echo(&out).unwrap_err().contains("payload"));
        // The tagged reply without its tag, or on another VLAN.
        let out = [rxs.clone(), tx_line(&reply), tx_line(&untagged)].join("\n");
        assert!(check_echo(&out).unwrap_err().contains("VLAN 10"));
        let mut other = vreply.clone();
        other[15] = 11;
        let out = [rxs.clone(), tx_line(&reply), tx_line(&other)].join("\n");
        assert!(check_echo(&out).unwrap_err().contains("VLAN 10"));
        let out = [
            rx.to_string(),
            rx.to_string(),
            tx_line(&reply),
            tx_line(&vreply),
        ]
        .join("\n");
        assert!(check_echo(&out)
            .unwrap_err()
            .contains("no rx line of the 102-byte"));
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
