//! The write path in process: a sequence of requests (built from the input over a
//! small namespace so they collide), prepared in batches against the tree plus what
//! the batch already changed (`PrepContext` + `Pending`, as the pipeline does), then
//! applied (`Applier`) in order. After each batch the tree's invariants are checked.
#![no_main]

#[path = "../common/targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::state_machine(data));
