//! The state machine in process: writes prepared and applied in batches as the
//! pipeline does, reads through the server's read path registering, checking and
//! removing watches, closed sessions and dropped connections. After each step the
//! tree's invariants hold and the watch tables hold what the connections registered.
#![no_main]

#[path = "../common/targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::state_machine(data));
