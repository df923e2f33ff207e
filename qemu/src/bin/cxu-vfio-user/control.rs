//! Commands from the host test on stdin, one per line, applied to the model
//! while the guest runs (what a cable, a switch or an operator would do):
//!
//! ```text
//! link <port> up|down              the link partner of port <port> (1-based) comes or goes
//! module <n> plugged|unplugged     a cable is plugged into module <n> (0-based) or pulled:
//!                                  a PORT_MODULE event (the kernel logs it)
//! rx <port> <hex>                  a frame (from the destination MAC on, no FCS)
//!                                  arrives on port <port>: the model delivers it to
//!                                  an RQ and prints `cxu-vfio-user: rx {...}` with
//!                                  what became of it
//! state                            print the state line now
//! ```
//!
//! After each command the server prints a state line whose `reason` is the
//! command (for `rx`, `rx <port> len <n>`), so the test knows it was applied. A bad line is logged and
//! ignored. At end of input the thread ends (the default for a server whose
//! stdin is /dev/null).

use std::io::BufRead;
use std::sync::Arc;

use cxu_hal::ifc::eqe::{self, EventType};
use cxu_qemu::Device;

/// What a line asks for.
#[derive(Debug, PartialEq, Eq)]
enum Line {
    Link { port: u8, up: bool },
    Module { module: u8, plugged: bool },
    Rx { port: u8, frame: Vec<u8> },
    State,
}

fn parse(line: &str) -> Result<Line, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    match words.as_slice() {
        ["link", port, state] => {
            let port = port
                .parse::<u8>()
                .map_err(|e| format!("port {port:?}: {e}"))?;
            let up = match *state {
                "up" => true,
                "down" => false,
                other => return Err(format!("link state {other:?}: up or down")),
            };
            Ok(Line::Link { port, up })
        }
        ["module", module, state] => {
            let module = module
                .parse::<u8>()
                .map_err(|e| format!("module {module:?}: {e}"))?;
            let plugged = match *state {
                "plugged" => true,
                "unplugged" => false,
                other => return Err(format!("module state {other:?}: plugged or unplugged")),
            };
            Ok(Line::Module { module, plugged })
        }
        ["rx", port, hex] => {
            let port = port
                .parse::<u8>()
                .map_err(|e| format!("port {port:?}: {e}"))?;
            let frame = super::wire::parse_hex(hex)?;
            Ok(Line::Rx { port, frame })
        }
        ["state"] => Ok(Line::State),
        _ => Err(format!("unknown command {line:?}")),
    }
}

/// The PORT_MODULE event data (`mlx5_eqe_port_module`): the module at
/// byte 1, its status at byte 3 (1 plugged, 2 unplugged).
fn module_event(module: u8, plugged: bool) -> [u8; eqe::DATA_SIZE] {
    let mut d = [0u8; eqe::DATA_SIZE];
    d[1] = module;
    d[3] = if plugged { 1 } else { 2 };
    d
}

/// Reads commands from stdin on a thread of its own.
pub fn spawn(device: Arc<Device>, states: Arc<super::state::StateLines>) {
    let spawned = std::thread::Builder::new()
        .name("cxu-control".into())
        .spawn(move || {
            for line in std::io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                if line.trim().is_empty() {
                    continue;
                }
                match parse(&line) {
                    Ok(Line::Link { port, up }) => {
                        if device.control().set_link(port, up) {
                            tracing::info!(port, up, "link changed");
                        } else {
                            tracing::warn!(port, "no such port");
                        }
                    }
                    Ok(Line::Module { module, plugged }) => {
                        let posted = device.control().raw_event(
                            EventType::PORT_MODULE_EVENT,
                            0,
                            module_event(module, plugged),
                        );
                        tracing::info!(module, plugged, posted, "module event");
                    }
                    Ok(Line::Rx { port, frame }) => {
                        let outcome = device.control().rx(port, &frame);
                        tracing::info!(port, len = frame.len(), ?outcome, "frame received");
                        println!(
                            r#"cxu-vfio-user: rx {{"port":{port},"len":{},"outcome":"{outcome:?}"}}"#,
                            frame.len()
                        );
                        states.print(&format!("rx {port} len {}", frame.len()));
                        continue;
                    }
                    Ok(Line::State) => {}
                    Err(e) => {
                        tracing::warn!("control: {e}");
                        continue;
                    }
                }
                states.print(line.trim());
            }
        });
    if let Err(e) = spawned {
        tracing::warn!("no control thread: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_parse_or_say_why_not() {
        assert_eq!(parse("link 1 down"), Ok(Line::Link { port: 1, up: false }));
        assert_eq!(parse(" link 2 up "), Ok(Line::Link { port: 2, up: true }));
        assert_eq!(parse("state"), Ok(Line::State));
        assert_eq!(
            parse("module 0 plugged"),
            Ok(Line::Module {
                module: 0,
                plugged: true
            })
        );
        assert_eq!(module_event(3, false)[..4], [0, 3, 0, 2]);
        assert!(parse("module 0 sideways").is_err());
        assert!(parse("link 1 sideways").is_err());
        assert!(parse("link x up").is_err());
        assert_eq!(
            parse("rx 1 02c95e000001"),
            Ok(Line::Rx {
                port: 1,
                frame: vec![2, 0xC9, 0x5E, 0, 0, 1]
            })
        );
        assert!(parse("rx 1 0g").is_err());
        assert!(parse("reboot").is_err());
    }
}
