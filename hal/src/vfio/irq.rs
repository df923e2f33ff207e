//! MSI-X vectors as eventfds.

use std::sync::Arc;

use vmm_sys_util::eventfd::EventFd;

use crate::{Error, Result};

/// `VFIO_PCI_MSIX_IRQ_INDEX`.
pub const MSIX_IRQ_INDEX: u32 = 2;

/// Checks a request for `count` MSI-X vectors of a function that has `available`.
pub fn check_msix_request(count: u32, available: u32) -> Result<()> {
    if available == 0 {
        return Err(Error::NoMsix);
    }
    if count == 0 {
        return Err(Error::Vfio(
            "enable_msix(0): ask for at least one vector (disable_msix turns MSI-X off)".into(),
        ));
    }
    if count > available {
        return Err(Error::BadVector {
            vector: count - 1,
            count: available,
        });
    }
    Ok(())
}

/// `count` fresh eventfds, non-blocking (`wait_eventfd` polls before reading).
pub fn new_eventfds(count: u32) -> Result<Vec<Arc<EventFd>>> {
    (0..count)
        .map(|_| {
            EventFd::new(libc::EFD_NONBLOCK | libc::EFD_CLOEXEC)
                .map(Arc::new)
                .map_err(|e| Error::io("create an eventfd for an MSI-X vector", e))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_checked_against_the_device() {
        assert!(matches!(check_msix_request(1, 0), Err(Error::NoMsix)));
        assert!(matches!(check_msix_request(0, 4), Err(Error::Vfio(_))));
        match check_msix_request(5, 4) {
            Err(
                e @ Error::BadVector {
                    vector: 4,
                    count: 4,
                },
            ) => {
                assert!(e.to_string().contains("the function has 4"), "{e}")
            }
            other => panic!("{other:?}"),
        }
        check_msix_request(4, 4).unwrap();
        check_msix_request(1, 4).unwrap();
    }
}
