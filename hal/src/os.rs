//! Operating-system helpers the driver and the model share that are not PCI:
//! a thread's timer slack and a wait on an eventfd (an MSI-X vector's).

use std::time::Duration;

use vmm_sys_util::eventfd::EventFd;

use crate::{Error, Result};

/// Sets the calling thread's timer slack (how late the kernel may fire its
/// timed sleeps to batch wake-ups; 50 µs by default) to `ns`. A thread whose
/// sleeps stand for a precise delay (the model's firmware latency timer)
/// wants it near zero.
pub fn set_thread_timer_slack(ns: u64) -> Result<()> {
    let ns = libc::c_ulong::try_from(ns).unwrap_or(libc::c_ulong::MAX);
    // SAFETY: PR_SET_TIMERSLACK takes one integer argument and touches no
    // memory of ours; it affects the calling thread only.
    let rc = unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, ns, 0, 0, 0) };
    if rc < 0 {
        return Err(Error::io(
            "prctl(PR_SET_TIMERSLACK)",
            std::io::Error::last_os_error(),
        ));
    }
    Ok(())
}

/// Waits until `fd` is signalled or `timeout` passes; returns the eventfd counter
/// (how many signals were folded together), or `None` on timeout.
pub fn wait_eventfd(fd: &EventFd, timeout: Option<Duration>) -> Result<Option<u64>> {
    use std::os::fd::AsRawFd;
    // Rounded up: a timeout under a millisecond must still wait, not turn
    // into a non-blocking poll that its caller would loop on.
    let ms: i32 = match timeout {
        None => -1,
        Some(t) => t.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32,
    };
    let mut pfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    loop {
        // SAFETY: `pfd` is a valid, initialised pollfd and we pass a count of one.
        let rc = unsafe { libc::poll(&mut pfd, 1, ms) };
        if rc < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(Error::io("poll on eventfd", e));
        }
        if rc == 0 {
            return Ok(None);
        }
        return match fd.read() {
            Ok(n) => Ok(Some(n)),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(Some(0)),
            Err(e) => Err(Error::io("read eventfd", e)),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_timer_slack_is_set_for_the_calling_thread_only() {
        let get = || {
            // SAFETY: PR_GET_TIMERSLACK takes no argument and returns the
            // calling thread's slack.
            unsafe { libc::prctl(libc::PR_GET_TIMERSLACK, 0, 0, 0, 0) }
        };
        std::thread::spawn(move || {
            let before = get();
            set_thread_timer_slack(1).expect("prctl");
            assert_eq!(get(), 1);
            assert_ne!(before, 1, "the default slack is not 1 ns");
        })
        .join()
        .unwrap();
        assert_ne!(get(), 1, "another thread's slack is untouched");
    }

    #[test]
    fn eventfd_wait_times_out_then_sees_a_signal() {
        let fd = EventFd::new(libc::EFD_NONBLOCK).unwrap();
        assert_eq!(
            wait_eventfd(&fd, Some(Duration::from_millis(1))).unwrap(),
            None
        );
        // Under a millisecond still waits (it was a non-blocking poll).
        let t = std::time::Instant::now();
        assert_eq!(
            wait_eventfd(&fd, Some(Duration::from_micros(300))).unwrap(),
            None
        );
        assert!(
            t.elapsed() >= Duration::from_micros(300),
            "{:?}",
            t.elapsed()
        );
        fd.write(2).unwrap();
        assert_eq!(
            wait_eventfd(&fd, Some(Duration::from_millis(100))).unwrap(),
            Some(2)
        );
    }
}
