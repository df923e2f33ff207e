//! Driver threads that report their own death. A panic in the EQ thread, the
//! page worker or the health poller would otherwise be seen only when the
//! thread is joined at removal: meanwhile commands in events mode wait their
//! whole timeout and page requests go unserved. A guarded thread catches its
//! panic and marks the device failed at once, with a cause naming the thread
//! ([`FatalCause::ThreadPanic`]): waiting and new commands fail fast, and the
//! devlink `fw_fatal` reporter reports it.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::thread::JoinHandle;

use tracing::error;

use crate::error::{Error, FatalCause, Result};
use crate::health::FailDevice;

/// Spawns `body` on a thread named `name`; if it panics, the device is
/// declared failed through `fail` before the thread ends.
pub(crate) fn spawn(
    name: &'static str,
    fail: FailDevice,
    body: impl FnOnce() + Send + 'static,
) -> Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            if let Err(p) = catch_unwind(AssertUnwindSafe(body)) {
                let msg = p
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| p.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                error!(thread = name, panic = %msg, "driver thread panicked: the device is marked failed");
                fail.declare(FatalCause::ThreadPanic(name));
            }
        })
        .map_err(|source| Error::Thread { name, source })
}

#[cfg(all(test, not(cxu_driver_loom)))]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use cxu_hal::ifc::{InHeader, Opcode};
    use cxu_hal::PciFunction;
    use cxu_qemu::model::Profile;
    use cxu_qemu::LocalFunction;

    use crate::cmd::QueueConfig;
    use crate::{Device, DriverConfig, Error, FatalCause};

    /// Longer than any wait below: a command that waited for it would show.
    const CMD_TIMEOUT: Duration = Duration::from_secs(60);
    /// How long the device sits on the command that waits across the panic.
    const SLOW: Duration = Duration::from_secs(20);

    fn nop() -> [u8; 16] {
        let mut b = [0u8; 16];
        InHeader::new(Opcode::NOP, 0).encode_into(&mut b).unwrap();
        b
    }

    fn wait(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
        let t = Instant::now();
        while !f() {
            if t.elapsed() > limit {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        true
    }

    /// Issue 14 item 6: a panic in `thread` marks the device failed at once
    /// with a cause naming the thread; a command waiting (in events mode, for
    /// a completion that would come only after `SLOW`) and a new one fail
    /// fast; the report is there for the devlink `fw_fatal` reporter.
    fn a_panic_fails_the_device_at_once(thread: &'static str) {
        let f = Arc::new(LocalFunction::new(Profile::default()));
        let pf: Arc<dyn PciFunction> = f.clone();
        let cfg = DriverConfig {
            queue: QueueConfig {
                timeout: CMD_TIMEOUT,
                ..QueueConfig::default()
            },
            use_device_timeouts: false,
            health_interval: Duration::from_millis(20),
            eq_poll: Duration::from_millis(20),
            fw_pages: 256,
            ..DriverConfig::default()
        };
        let d = Device::probe(pf, cfg).unwrap();
        f.control().set_latency(Opcode::NOP, SLOW);
        let waiter = {
            let d = d.clone();
            std::thread::spawn(move || {
                let t = Instant::now();
                (d.exec(&nop(), 16), t.elapsed())
            })
        };
        assert!(wait(Duration::from_secs(10), || f.control().busy_slots() != 0));
        d.test_panic_thread(thread);
        if thread == "cxu-pages" {
            // The worker sleeps until a page request comes.
            assert!(f.control().request_pages(1));
        }
        assert!(
            wait(Duration::from_secs(10), || d.is_fatal()),
            "{thread}: not marked failed"
        );
        let (r, took) = waiter.join().unwrap();
        assert!(
            matches!(r, Err(Error::FwFatal { cause: FatalCause::ThreadPanic(t) }) if t == thread),
            "{thread}: the waiting command got {r:?}"
        );
        assert!(took < SLOW, "{thread}: the waiter took {took:?}");
        let t = Instant::now();
        let r = d.exec(&nop(), 16);
        assert!(
            matches!(r, Err(Error::FwFatal { .. })) && t.elapsed() < SLOW,
            "{thread}: a new command got {r:?} after {:?}",
            t.elapsed()
        );
        let rep = d.health_report().expect("a health report");
        assert_eq!(rep.cause, FatalCause::ThreadPanic(thread));
        assert!(rep.cause.to_string().contains(thread));
        f.control().set_latency(Opcode::NOP, Duration::ZERO);
        d.remove().unwrap();
    }

    #[test]
    fn a_panic_in_the_eq_thread_fails_the_device_at_once() {
        a_panic_fails_the_device_at_once("cxu-eq");
    }

    #[test]
    fn a_panic_in_the_page_worker_fails_the_device_at_once() {
        a_panic_fails_the_device_at_once("cxu-pages");
    }

    #[test]
    fn a_panic_in_the_health_poller_fails_the_device_at_once() {
        a_panic_fails_the_device_at_once("cxu-health");
    }
}
