//! devlink-core: the control-plane object model (issue 3; not built yet).
#![forbid(unsafe_code)]
