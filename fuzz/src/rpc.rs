//! `rpc_input`: the firmware RPC channel ([`cxu_driver::rpc`]) fed any input,
//! output size and scope by a caller, in front of a backend that records what
//! reaches it and answers as scripted (output, firmware error, or a driver
//! error).
//!
//! What must hold:
//! * a command reaches the backend only if its sizes are in range, its header
//!   decodes, its opcode is allowed at the caller's scope and the device is
//!   registered, and then with the header's `uid` forced to 0 and every other
//!   byte as the caller wrote it;
//! * every refusal names the right reason (size, scope, removed), and a
//!   firmware error comes back as an output of exactly the size asked for,
//!   carrying its status and syndrome.

use std::sync::{Arc, Mutex};

use arbitrary::Arbitrary;
use cxu_driver::devlink::backend::Backend;
use cxu_driver::rpc::{min_scope_of, RpcDevice, RpcError, Scope, MAX_RPC_LEN};
use cxu_hal::ifc::header::{self, InHeader, OutHeader, HEADER_SIZE};
use cxu_hal::ifc::{CmdStatus, Opcode};

use crate::simple::OPCODES;

/// How the backend answers.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Reply {
    /// An output of the size asked for, filled with this byte (status OK).
    Output(u8),
    /// Firmware ran the command and failed it.
    Firmware(u8, u32),
    /// The command timed out.
    Timeout,
    /// The device went away under the call.
    Removed,
}

/// A whole input of `rpc_input`.
#[derive(Arbitrary, Debug, Clone)]
pub struct Call {
    /// Scope number (modulo 4).
    pub scope: u8,
    /// Index into [`OPCODES`] planted in the header, or none past its end.
    pub opcode: u8,
    /// The input (header first).
    pub input: Vec<u8>,
    /// Output size asked for.
    pub out_len: u16,
    /// Use a huge output size (`out_len` scaled up past the limit).
    pub huge: bool,
    /// The backend's answer.
    pub reply: Reply,
    /// Unregister the device before the call.
    pub removed: bool,
}

struct Recorder {
    reply: Reply,
    seen: Mutex<Vec<(Vec<u8>, usize)>>,
}

impl Backend for Recorder {
    fn exec(&self, msg: &[u8], outlen: usize) -> cxu_driver::Result<Vec<u8>> {
        self.seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((msg.to_vec(), outlen));
        let opcode = InHeader::decode(msg).map_or(Opcode(0), |h| h.opcode);
        match self.reply {
            Reply::Output(b) => {
                let mut out = vec![b; outlen];
                out[0] = 0;
                Ok(out)
            }
            Reply::Firmware(status, syndrome) => Err(cxu_driver::Error::Command {
                opcode,
                status: CmdStatus(status.max(1)),
                syndrome,
            }),
            Reply::Timeout => Err(cxu_driver::Error::Timeout {
                opcode,
                slot: 0,
                after: std::time::Duration::from_secs(1),
            }),
            Reply::Removed => Err(cxu_driver::Error::DeviceRemoved),
        }
    }
}

/// Runs one call.
pub fn run(c: Call) {
    let scope = Scope::parse(&(c.scope % 4).to_string()).expect("0..=3 are scopes");
    let mut input = c.input.clone();
    if let (Some(op), true) = (OPCODES.get(usize::from(c.opcode)), input.len() >= 2) {
        input[..2].copy_from_slice(&op.0.to_be_bytes());
    }
    let out_len = if c.huge {
        usize::from(c.out_len) * 64
    } else {
        usize::from(c.out_len)
    };
    let rec = Arc::new(Recorder {
        reply: c.reply,
        seen: Mutex::new(Vec::new()),
    });
    let dev = RpcDevice::new(rec.clone());
    let handle = dev.open().expect("open before removal");
    if c.removed {
        assert!(dev.unregister(), "first unregister closes the gate");
    }
    let res = handle.rpc(scope, &input, out_len);
    let seen = std::mem::take(&mut *rec.seen.lock().unwrap_or_else(|e| e.into_inner()));

    let sizes_ok = (2 * HEADER_SIZE..=MAX_RPC_LEN).contains(&input.len())
        && (HEADER_SIZE..=MAX_RPC_LEN).contains(&out_len);
    let hdr = InHeader::decode(&input).ok();
    let allowed = hdr.is_some() && min_scope_of(&input).is_some_and(|n| n <= scope);
    let reaches = sizes_ok && allowed && !c.removed;
    assert_eq!(
        seen.len(),
        usize::from(reaches),
        "reached the backend: {} times, expected {reaches} (sizes {sizes_ok}, allowed {allowed}, removed {})",
        seen.len(),
        c.removed
    );
    if let Some((msg, n)) = seen.first() {
        assert_eq!(*n, out_len);
        assert_eq!(header::UID.get(msg).ok(), Some(0), "uid not cleared");
        let mut expect = input.clone();
        header::UID
            .set(&mut expect, 0)
            .expect("the input holds a header");
        assert_eq!(*msg, expect, "the command changed on its way");
    }
    match (&res, sizes_ok, allowed) {
        (Err(RpcError::Size { len, .. }), false, _) => {
            assert!(*len == input.len() || *len == out_len)
        }
        (Err(e @ RpcError::Size { .. }), true, _) => panic!("sizes in range refused: {e}"),
        (_, false, _) => panic!("sizes out of range not refused: {res:?}"),
        (Err(RpcError::NotAllowed { needs, .. }), true, false) => {
            assert!(hdr.is_some(), "a header decoded");
            assert_eq!(*needs, min_scope_of(&input));
        }
        (Err(RpcError::Failed(_)), true, false) => {
            assert!(hdr.is_none(), "a decodable header refused as undeliverable")
        }
        (_, true, false) => panic!("a command not allowed at {scope:?} got {res:?}"),
        (res, true, true) => check_delivered(&c, out_len, res),
    }
    // Whatever happened, the handle stays usable and reports the device state.
    assert_eq!(handle.is_registered(), !c.removed);
}

fn check_delivered(c: &Call, out_len: usize, res: &Result<Vec<u8>, RpcError>) {
    match (res, c.removed, c.reply) {
        (Err(RpcError::DeviceRemoved), true, _) => {}
        (r, true, _) => panic!("a removed device answered: {r:?}"),
        (Ok(out), false, Reply::Output(_)) => assert_eq!(out.len(), out_len),
        (Ok(out), false, Reply::Firmware(status, syndrome)) => {
            assert_eq!(out.len(), out_len, "firmware error output size");
            let h = OutHeader::decode(out).expect("the output holds a header");
            assert_eq!((h.status, h.syndrome), (CmdStatus(status.max(1)), syndrome));
        }
        (Err(RpcError::Failed(_)), false, Reply::Timeout) => {}
        (Err(RpcError::DeviceRemoved), false, Reply::Removed) => {}
        (r, false, reply) => panic!("backend answered {reply:?}, caller got {r:?}"),
    }
}
