//! A transaction payload as the log hands it to recovery.
#![no_main]

use bytes::Bytes;
use ferrokeeper::persist::txn_codec;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (zxid, payload) = match data.split_first_chunk::<8>() {
        Some((zxid, rest)) => (i64::from_be_bytes(*zxid), rest),
        None => (1, data),
    };
    let _ = txn_codec::decode(zxid, Bytes::copy_from_slice(payload));
});
