//! The frames the model's send queues put on the wire, one stdout line each,
//! for the host test to read what the guest sent:
//!
//! ```text
//! cxu-vfio-user: tx {"port":1,"len":42,"hex":"ffffffffffff02c95e000001..."}
//! ```
//!
//! At most [`PRINTED`] lines per run: a guest that floods the wire must not
//! fill the test's disk. Past the cap one line says so
//! (`cxu-vfio-user: tx-cap 10000`); the state line's `wire.tx_frames` still
//! counts every frame.

use std::fmt::Write;
use std::sync::Arc;

use cxu_qemu::model::TxFrame;
use cxu_qemu::Device;

/// Frames printed before the rest are only counted.
pub const PRINTED: u64 = 10_000;

/// The line of one frame (without the `cxu-vfio-user: tx ` prefix).
pub fn json(f: &TxFrame) -> String {
    let mut o = String::with_capacity(40 + 2 * f.bytes.len());
    let _ = write!(o, r#"{{"port":{},"len":{},"hex":""#, f.port, f.bytes.len());
    for b in &f.bytes {
        let _ = write!(o, "{b:02x}");
    }
    o.push_str("\"}");
    o
}

/// Parses a frame written as hex digits (the `rx` command).
pub fn parse_hex(s: &str) -> Result<Vec<u8>, String> {
    if s.len() % 2 != 0 {
        return Err(format!("odd number of hex digits ({})", s.len()));
    }
    (0..s.len())
        .step_by(2)
        .map(|i| {
            s.get(i..i + 2)
                .and_then(|d| u8::from_str_radix(d, 16).ok())
                .ok_or_else(|| format!("not hex at {i}"))
        })
        .collect()
}

/// Prints every frame the device transmits, on a thread of its own.
pub fn spawn(device: &Arc<Device>) {
    let frames = device.control().subscribe_tx();
    let spawned = std::thread::Builder::new()
        .name("cxu-wire".into())
        .spawn(move || {
            let mut printed = 0u64;
            for f in frames {
                if printed < PRINTED {
                    println!("cxu-vfio-user: tx {}", json(&f));
                } else if printed == PRINTED {
                    println!("cxu-vfio-user: tx-cap {PRINTED}");
                }
                printed = printed.saturating_add(1);
            }
        });
    if let Err(e) = spawned {
        tracing::warn!("no wire thread: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_print_as_hex_and_parse_back() {
        let f = TxFrame {
            port: 1,
            sqn: 7,
            bytes: vec![0xFF, 0x00, 0x5A],
        };
        assert_eq!(json(&f), r#"{"port":1,"len":3,"hex":"ff005a"}"#);
        assert_eq!(parse_hex("ff005A"), Ok(vec![0xFF, 0, 0x5A]));
        assert!(parse_hex("ff0").is_err());
        assert!(parse_hex("zz").is_err());
    }
}
