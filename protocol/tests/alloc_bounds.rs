//! Decoding must not allocate more than the input could describe: a frame that declares a
//! huge vector or string and then ends (or turns to garbage) must fail without first
//! reserving memory for everything it claimed. Measured with a counting global allocator,
//! so this file holds a single test (nothing else allocates concurrently).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::{BufMut, Bytes, BytesMut};
use ferrokeeper_protocol::jute::{from_bytes, DecodeError, Jute};
use ferrokeeper_protocol::records::{
    Acl, GetAclResponse, GetChildrenResponse, SetAclRequest, SetWatches2, WhoAmIResponse,
};
use ferrokeeper_protocol::request::Request;
use ferrokeeper_protocol::OpCode;

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(by: usize) {
    let now = CURRENT.fetch_add(by, Ordering::SeqCst) + by;
    PEAK.fetch_max(now, Ordering::SeqCst);
}

// SAFETY: every call is passed to the system allocator unchanged; only sizes are
// counted.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::SeqCst);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                grew(new_size - layout.size());
            } else {
                CURRENT.fetch_sub(layout.size() - new_size, Ordering::SeqCst);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f` and returns its result and the most memory it held at once beyond what was
/// allocated before it started.
fn peak_during<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let base = CURRENT.load(Ordering::SeqCst);
    PEAK.store(base, Ordering::SeqCst);
    let r = f();
    (r, PEAK.load(Ordering::SeqCst).saturating_sub(base))
}

/// A vector count that the remaining input could just about hold at one byte per item,
/// followed by an item that is garbage from its first length field on.
fn lying_vector(prefix: &[u8], count: usize) -> Bytes {
    let mut out = BytesMut::new();
    out.put_slice(prefix);
    out.put_i32(count as i32);
    // First item: perms (for an Acl) / a string length of -2: invalid either way.
    out.put_i32(-2);
    out.put_i32(-2);
    out.resize(out.len() + count, 0);
    out.freeze()
}

const SLACK: usize = 64 * 1024;

fn assert_bounded<T: Jute + std::fmt::Debug>(what: &str, input: Bytes) {
    let len = input.len();
    let (result, peak) = peak_during(|| from_bytes::<T>(input));
    assert!(result.is_err(), "{what}: decoded {result:?}");
    assert!(
        peak <= len + SLACK,
        "{what}: input of {len} bytes made the decoder hold {peak} bytes"
    );
}

#[test]
fn huge_declared_lengths_fail_fast_without_allocating() {
    const N: usize = 1 << 20;

    // Lengths beyond the input are refused outright.
    for prefix in [i32::MAX, 0x0100_0000, 5] {
        let mut b = BytesMut::new();
        b.put_i32(prefix);
        b.put_slice(b"abcd");
        let (r, peak) = peak_during(|| from_bytes::<String>(b.clone().freeze()));
        assert_eq!(r, Err(DecodeError::BadLength(prefix)));
        assert!(peak < SLACK, "{peak}");
        let (r, peak) = peak_during(|| from_bytes::<Vec<Acl>>(b.clone().freeze()));
        assert_eq!(r, Err(DecodeError::BadLength(prefix)));
        assert!(peak < SLACK, "{peak}");
        let (r, peak) = peak_during(|| from_bytes::<Option<Bytes>>(b.clone().freeze()));
        assert_eq!(r, Err(DecodeError::BadLength(prefix)));
        assert!(peak < SLACK, "{peak}");
    }

    // Counts the input could hold at one byte per item, but whose items are garbage:
    // the decoder must not have reserved count * size_of::<T>() first.
    assert_bounded::<Vec<String>>("Vec<String>", lying_vector(&[], N));
    assert_bounded::<Vec<Acl>>("Vec<Acl>", lying_vector(&[], N));
    assert_bounded::<GetChildrenResponse>("GetChildrenResponse", lying_vector(&[], N));
    assert_bounded::<WhoAmIResponse>("WhoAmIResponse", lying_vector(&[], N));
    assert_bounded::<GetAclResponse>("GetAclResponse", lying_vector(&[], N));
    assert_bounded::<SetAclRequest>("SetAclRequest", lying_vector(&[0, 0, 0, 1, b'/'], N));
    assert_bounded::<SetWatches2>("SetWatches2", lying_vector(&[0; 8], N));

    // The same through Request::decode, the server's entry point.
    for (op, prefix) in [
        (OpCode::SetAcl, &[0, 0, 0, 1, b'/'][..]),
        (OpCode::SetWatches, &[0; 8][..]),
        (OpCode::SetWatches2, &[0; 8][..]),
        (OpCode::Create, &[0, 0, 0, 1, b'/', 0, 0, 0, 0][..]),
    ] {
        let input = lying_vector(prefix, N);
        let len = input.len();
        let (r, peak) = peak_during(|| Request::decode(op, input));
        assert!(r.is_err(), "{op:?}: {r:?}");
        assert!(peak <= len + SLACK, "{op:?}: {len} bytes in, {peak} held");
    }

    // A large but honest string or buffer costs about its own size (zero-copy for buffers).
    let mut honest = BytesMut::new();
    honest.put_i32(N as i32);
    honest.resize(4 + N, b'a');
    let honest = honest.freeze();
    let (r, peak) = peak_during(|| from_bytes::<String>(honest.clone()));
    assert_eq!(r.map(|s| s.len()), Ok(N));
    assert!(peak <= N + SLACK, "{peak}");
    let (r, peak) = peak_during(|| from_bytes::<Option<Bytes>>(honest.clone()));
    assert_eq!(r.map(|b| b.map(|b| b.len())), Ok(Some(N)));
    assert!(peak < SLACK, "buffers share the input: {peak}");
}
