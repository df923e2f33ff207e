//! The command and firmware-init timeouts a device states in its init segment
//! (`cmd_exec_to` at 0xFF8, `cmd_q_init_to` at 0xFFC), clamped to sane bounds.
//!
//! The encoding reaches 2^20 hours (about 119 years) and goes down to a
//! millisecond: taken as written, one makes a hung command wait forever, the
//! other times every command out and stalls its slot. A value outside the
//! bounds is clamped and the driver says so in a log line.

use std::time::Duration;

use cxu_hal::ifc::iseg;
use tracing::warn;

/// Shortest command timeout taken from the device: long enough for any
/// healthy command (the kernel's default is 60 s).
pub const MIN_CMD_EXEC_TO: Duration = Duration::from_secs(1);
/// Longest command timeout taken from the device.
pub const MAX_CMD_EXEC_TO: Duration = Duration::from_secs(10 * 60);
/// Shortest firmware-init wait taken from the device.
pub const MIN_CMD_Q_INIT_TO: Duration = Duration::from_secs(1);
/// Longest firmware-init wait taken from the device (the kernel's
/// FW_PRE_INIT_TIMEOUT is 2 min; a few times that).
pub const MAX_CMD_Q_INIT_TO: Duration = Duration::from_secs(10 * 60);

/// The timeouts to use, from the two raw init-segment words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceTimeouts {
    /// The command timeout; `None` when the device gives none (zero).
    pub cmd_exec: Option<Duration>,
    /// The firmware-init wait; `None` when the device gives none (zero).
    pub cmd_q_init: Option<Duration>,
    /// Whether a value was clamped.
    pub clamped: bool,
}

/// Decodes and clamps `cmd_exec_to` and `cmd_q_init_to` (a zero word means
/// "not given"). Logs each value it clamps.
pub fn device_timeouts(exec_raw: u32, init_raw: u32) -> DeviceTimeouts {
    let mut clamped = false;
    let mut take = |raw: u32, name: &'static str, min: Duration, max: Duration| {
        if raw == 0 {
            return None;
        }
        let given = iseg::decode_timeout(raw);
        let used = given.clamp(min, max);
        if used != given {
            clamped = true;
            warn!(
                field = name,
                raw = format_args!("{raw:#010x}"),
                ?given,
                ?used,
                "init-segment timeout out of bounds: clamped"
            );
        }
        Some(used)
    };
    let cmd_exec = take(exec_raw, "cmd_exec_to", MIN_CMD_EXEC_TO, MAX_CMD_EXEC_TO);
    let cmd_q_init = take(
        init_raw,
        "cmd_q_init_to",
        MIN_CMD_Q_INIT_TO,
        MAX_CMD_Q_INIT_TO,
    );
    DeviceTimeouts {
        cmd_exec,
        cmd_q_init,
        clamped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cxu_hal::ifc::iseg::encode_timeout;

    #[test]
    fn both_ends_are_clamped_and_sane_values_kept() {
        // 2^20 - 1 hours, and 1 ms.
        let huge = encode_timeout(3, 0xF_FFFF).unwrap();
        let tiny = encode_timeout(0, 1).unwrap();
        let t = device_timeouts(huge, tiny);
        assert_eq!(t.cmd_exec, Some(MAX_CMD_EXEC_TO));
        assert_eq!(t.cmd_q_init, Some(MIN_CMD_Q_INIT_TO));
        assert!(t.clamped);
        let t = device_timeouts(tiny, huge);
        assert_eq!(t.cmd_exec, Some(MIN_CMD_EXEC_TO));
        assert_eq!(t.cmd_q_init, Some(MAX_CMD_Q_INIT_TO));
        let sixty = encode_timeout(1, 60).unwrap();
        let t = device_timeouts(sixty, sixty);
        assert_eq!(
            (t.cmd_exec, t.cmd_q_init, t.clamped),
            (
                Some(Duration::from_secs(60)),
                Some(Duration::from_secs(60)),
                false
            )
        );
        let t = device_timeouts(0, 0);
        assert_eq!((t.cmd_exec, t.cmd_q_init), (None, None));
        // A zero value with a unit is still a timeout of zero: clamped up.
        let t = device_timeouts(encode_timeout(2, 0).unwrap(), 0);
        assert_eq!(t.cmd_exec, Some(MIN_CMD_EXEC_TO));
    }
}
