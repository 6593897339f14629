//! A snapshot body as the loader reads it (after the file's checksum passed: the
//! loader itself must still refuse anything inconsistent without panicking).
#![no_main]

use ferrokeeper::persist::snapshot;
use ferrokeeper::session::SessionTable;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let sessions = SessionTable::default();
    let _ = snapshot::read(&mut &data[..], &sessions, 0);
});
