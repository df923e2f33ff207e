//! QUERY_VPORT_COUNTER of the function's own vport: the traffic counters
//! (errors, IB and Ethernet unicast/multicast/broadcast, local loopback), as
//! packet and octet pairs. The model counts no traffic on this path yet, so
//! they read 0; `clear` zeroes them. Another vport is BAD_PARAM.
#![forbid(unsafe_code)]

use cxu_hal::ifc::commands::vport as vs;

use super::eth::Eth;
use super::{syndrome, Cmd, CmdError, CmdResult};

/// The vport's traffic counters (packets, octets), in output order.
#[derive(Clone, Debug, Default)]
pub struct VportCounters {
    counters: [(u64, u64); vs::TRAFFIC_COUNTERS],
}

impl Eth {
    pub(super) fn query_vport_counter(&mut self, cmd: &mut Cmd<'_>) -> CmdResult {
        if cmd.get(vs::OTHER_VPORT) != 0 || cmd.get(vs::VPORT_NUMBER) != 0 {
            return Err(CmdError::bad_param(syndrome::VPORT_NOT_MANAGED));
        }
        let now = self.vport_counters.counters;
        if cmd.get(vs::COUNTER_CLEAR) != 0 {
            self.vport_counters = VportCounters::default();
        }
        let out = cmd.out_len(vs::QUERY_VPORT_COUNTER_OUT_SIZE);
        for (i, (packets, octets)) in now.iter().enumerate() {
            let at = vs::TRAFFIC_COUNTERS_OFFSET + 16 * i;
            out[at..at + 8].copy_from_slice(&packets.to_be_bytes());
            out[at + 8..at + 16].copy_from_slice(&octets.to_be_bytes());
        }
        Ok(())
    }
}
