//! The hardware interface: filled in by the ifc work (issue 2 item 4).
