//! The model's side of the cable: the frames its send queues put on the wire
//! and what it did with the frames a test delivered to a port.
//!
//! Transmitted frames are kept in a bounded ring (the last [`TX_RING`]) for
//! tests, and offered to one subscriber (the vfio-user server prints them) on
//! a bounded channel: a subscriber that falls behind loses frames, counted,
//! and never blocks the data path.
#![forbid(unsafe_code)]

use std::collections::VecDeque;

use crossbeam::channel::{Receiver, Sender, TrySendError};

/// How many of the last transmitted frames the ring keeps.
pub const TX_RING: usize = 256;
/// Frames the subscriber's channel holds before frames are lost.
const SUBSCRIBER_DEPTH: usize = 1024;

/// A frame an SQ put on the wire, as the port sends it (no FCS).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxFrame {
    /// The port (1-based) it left through.
    pub port: u8,
    /// The SQ that sent it.
    pub sqn: u32,
    /// The frame, from the destination MAC on.
    pub bytes: Vec<u8>,
}

/// What became of a frame delivered to a port ([`crate::Control::rx`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RxOutcome {
    /// Written to RQ `rqn`'s WQE `wqe_counter`, with its CQE posted.
    Delivered {
        /// The receive queue.
        rqn: u32,
        /// The WQE counter in its CQE.
        wqe_counter: u16,
    },
    /// The steered RQ had no WQE posted: dropped, counted in its Q
    /// counter's `out_of_buffer`.
    OutOfBuffer {
        /// The receive queue.
        rqn: u32,
    },
    /// Receive steering dropped it (a drop entry, a default miss, no root
    /// table) or reached no cyclic RQ in RDY.
    NoQueue,
    /// Shorter than an Ethernet header: dropped.
    Runt,
    /// The frame does not fit the buffers of RQ `rqn`'s next WQE (`room`
    /// bytes): dropped, the WQE kept.
    TooLong {
        /// The receive queue.
        rqn: u32,
        /// Bytes the WQE's scatter list holds.
        room: usize,
    },
    /// The WQE's scatter entry had a bad lkey or address: an error CQE was
    /// posted and the RQ moved to ERR.
    WqeError {
        /// The receive queue.
        rqn: u32,
    },
    /// No such port.
    NoPort,
}

/// Traffic counters of the wire (monotonic since the device was created).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WireCounters {
    /// Frames transmitted.
    pub tx_frames: u64,
    /// Bytes transmitted.
    pub tx_bytes: u64,
    /// Transmitted frames the subscriber's channel had no room for.
    pub tx_unsubscribed_lost: u64,
    /// Frames delivered to an RQ.
    pub rx_frames: u64,
    /// Bytes delivered to an RQ.
    pub rx_bytes: u64,
    /// Frames dropped on receive, for any reason.
    pub rx_dropped: u64,
}

/// The wire state (in the control state, under its own lock).
#[derive(Default)]
pub struct Wire {
    recent: VecDeque<TxFrame>,
    counters: WireCounters,
    subscriber: Option<Sender<TxFrame>>,
}

impl Wire {
    /// Records a transmitted frame.
    pub fn transmitted(&mut self, frame: TxFrame) {
        self.counters.tx_frames += 1;
        self.counters.tx_bytes += frame.bytes.len() as u64;
        if let Some(s) = &self.subscriber {
            match s.try_send(frame.clone()) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) => self.counters.tx_unsubscribed_lost += 1,
                Err(TrySendError::Disconnected(_)) => self.subscriber = None,
            }
        }
        if self.recent.len() == TX_RING {
            self.recent.pop_front();
        }
        self.recent.push_back(frame);
    }

    /// Records a frame delivered (`Some(len)`) or dropped (`None`).
    pub fn received(&mut self, delivered: Option<usize>) {
        match delivered {
            Some(len) => {
                self.counters.rx_frames += 1;
                self.counters.rx_bytes += len as u64;
            }
            None => self.counters.rx_dropped += 1,
        }
    }

    /// The last transmitted frames, oldest first.
    pub fn recent(&self) -> Vec<TxFrame> {
        self.recent.iter().cloned().collect()
    }

    /// The counters.
    pub fn counters(&self) -> WireCounters {
        self.counters
    }

    /// A channel of every frame transmitted from now on (replacing an
    /// earlier subscriber).
    pub fn subscribe(&mut self) -> Receiver<TxFrame> {
        let (tx, rx) = crossbeam::channel::bounded(SUBSCRIBER_DEPTH);
        self.subscriber = Some(tx);
        rx
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(n: u8) -> TxFrame {
        TxFrame {
            port: 1,
            sqn: 1,
            bytes: vec![n; 60],
        }
    }

    #[test]
    fn the_ring_keeps_the_last_frames_and_the_subscriber_gets_all() {
        let mut w = Wire::default();
        let rx = w.subscribe();
        for i in 0..(TX_RING + 3) {
            w.transmitted(frame(i as u8));
        }
        let recent = w.recent();
        assert_eq!(recent.len(), TX_RING);
        assert_eq!(recent[0].bytes[0], 3);
        assert_eq!(rx.try_iter().count(), TX_RING + 3);
        let c = w.counters();
        assert_eq!(
            (c.tx_frames, c.tx_bytes),
            (TX_RING as u64 + 3, 60 * (TX_RING as u64 + 3))
        );
    }

    #[test]
    fn a_slow_subscriber_loses_frames_without_blocking() {
        let mut w = Wire::default();
        let _rx = w.subscribe();
        for _ in 0..SUBSCRIBER_DEPTH + 5 {
            w.transmitted(frame(0));
        }
        assert_eq!(w.counters().tx_unsubscribed_lost, 5);
        w.received(Some(100));
        w.received(None);
        let c = w.counters();
        assert_eq!((c.rx_frames, c.rx_bytes, c.rx_dropped), (1, 100, 1));
    }
}
