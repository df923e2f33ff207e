//! QUERY_VPORT_COUNTER of the function's own vport: the traffic counters
//! (errors, IB and Ethernet unicast/multicast/broadcast, local loopback), as
//! packet and octet pairs. The Ethernet unicast, multicast and broadcast
//! pairs count the frames the function's SQs transmit and its RQs receive
//! (by destination address; octets without FCS); the error and IB pairs
//! stay 0. `clear` zeroes them. Another vport is BAD_PARAM.
#![forbid(unsafe_code)]

use cxu_hal::ifc::commands::vport as vs;

use super::eth::Eth;
use super::{syndrome, Cmd, CmdError, CmdResult};

/// The vport's traffic counters (packets, octets), in output order.
#[derive(Clone, Debug, Default)]
pub struct VportCounters {
    counters: [(u64, u64); vs::TRAFFIC_COUNTERS],
}

impl VportCounters {
    /// Counts a frame sent (`tx`) or received into the pair its destination
    /// address selects.
    fn count(&mut self, frame: &[u8], tx: bool) {
        use vs::traffic::*;
        let Some(dst) = frame.get(..6) else { return };
        let i = match (dst == [0xFF; 6], dst[0] & 1 != 0, tx) {
            (true, _, true) => TX_ETH_BROADCAST,
            (true, _, false) => RX_ETH_BROADCAST,
            (false, true, true) => TX_ETH_MULTICAST,
            (false, true, false) => RX_ETH_MULTICAST,
            (false, false, true) => TX_ETH_UNICAST,
            (false, false, false) => RX_ETH_UNICAST,
        };
        let c = &mut self.counters[i];
        c.0 += 1;
        c.1 += frame.len() as u64;
    }

    /// Counts a transmitted frame.
    pub fn count_tx(&mut self, frame: &[u8]) {
        self.count(frame, true);
    }

    /// Counts a received frame.
    pub fn count_rx(&mut self, frame: &[u8]) {
        self.count(frame, false);
    }

    /// The (packets, octets) pair `index` (`vs::traffic`).
    pub fn get(&self, index: usize) -> (u64, u64) {
        self.counters.get(index).copied().unwrap_or_default()
    }
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
