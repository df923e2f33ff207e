//! The Ethernet part of the state line: the NIC vport's MAC and MTU, port 1's
//! PAOS state, and how many of each Ethernet object exist, so a host test
//! can check what a guest's netdev created and destroyed.
//!
//! ```text
//! ,"mac":"02:c9:5e:00:00:01","mtu":1522,"port":{"admin":1,"oper":1,"link":true},
//! "eth":{"pds":1,"tds":1,"mkeys":1,"q_counters":1,"tises":1,"tirs":9,"rqts":2,
//!   "flow_tables":6,"flow_groups":14,"flow_entries":20,"rx_root":true},
//! "wire":{"tx_frames":3,"tx_bytes":126,"rx_frames":1,"rx_bytes":98,"rx_dropped":0}
//! ```

use std::fmt::Write;

use cxu_qemu::Device;

/// Appends the Ethernet keys (each with a leading comma) to `o`.
pub fn append(o: &mut String, device: &Device) {
    let ctl = device.control();
    let v = ctl.nic_vport();
    let m = v.mac;
    let _ = write!(
        o,
        r#","mac":"{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}","mtu":{}"#,
        m[0], m[1], m[2], m[3], m[4], m[5], v.mtu
    );
    if let Some(p) = ctl.port(1) {
        let _ = write!(
            o,
            r#","port":{{"admin":{},"oper":{},"link":{}}}"#,
            p.admin, p.oper, p.link
        );
    }
    let e = ctl.eth();
    let _ = write!(
        o,
        r#","eth":{{"pds":{},"tds":{},"mkeys":{},"q_counters":{},"tises":{},"tirs":{},"rqts":{},"flow_tables":{},"flow_groups":{},"flow_entries":{},"rx_root":{}}}"#,
        e.pds.len(),
        e.tds.len(),
        e.mkeys.len(),
        e.q_counters.len(),
        e.tises.len(),
        e.tirs.len(),
        e.rqts.len(),
        e.flow.tables.len(),
        e.flow.groups,
        e.flow.entries,
        e.flow.rx_root.is_some()
    );
    let w = ctl.wire_counters();
    let _ = write!(
        o,
        r#","wire":{{"tx_frames":{},"tx_bytes":{},"rx_frames":{},"rx_bytes":{},"rx_dropped":{}}}"#,
        w.tx_frames, w.tx_bytes, w.rx_frames, w.rx_bytes, w.rx_dropped
    );
}
