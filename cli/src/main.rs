//! `headroom`: command line front end (in progress).
fn main() {}
