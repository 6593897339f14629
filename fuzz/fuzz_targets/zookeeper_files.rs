//! Apache ZooKeeper's snapshot and log files as a takeover of its data directory
//! reads them: a snapshot, a log, or bare transactions replayed into a tree.
#![no_main]

#[path = "../common/targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::zookeeper_files(data));
