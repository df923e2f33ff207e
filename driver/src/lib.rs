//! cxu-driver: the ConnectX-style driver (issue 5; not built yet).
#![forbid(unsafe_code)]
