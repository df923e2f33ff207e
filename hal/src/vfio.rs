//! The VFIO backend of PciFunction: filled in by the VFIO work (issue 2 item 3).
