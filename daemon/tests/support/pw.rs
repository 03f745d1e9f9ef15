//! The private-PipeWire test harness now lives in the `headroom-session`
//! crate (shared with `headroom demo`); this keeps the tests' `pw::` paths.

pub use headroom_session::*;
