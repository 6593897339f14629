//! The `snapshot_file` target: a snapshot file's framing — header, trailer, lengths,
//! checksums, zstd — as the storage crate checks and streams it (`verify_with_env`,
//! `SnapshotReader`, on [`MemoryFs`]); what the server's `snapshot_read` target then
//! parses is the content this returns.
//!
//! The first input byte chooses whether the rest is the file as it is, or the file with
//! its three checksums recomputed, so that lengths, flags and zstd frames past them
//! are reached.

use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use crc32c::crc32c;
use ferrokeeper_storage::env::FileSystem;
use ferrokeeper_storage::snapshot::format::{snapshot_name, HEADER_LEN, TRAILER_LEN};
use ferrokeeper_storage::snapshot::verify_with_env;
use ferrokeeper_storage::{SnapshotInfo, SnapshotOptions, SnapshotReader, SnapshotWriter};

use super::memory_fs::MemoryFs;

/// Content read into memory at most; the rest is streamed by `finish` (a small zstd
/// frame can stand for gigabytes).
const CONTENT_LIMIT: u64 = 1 << 20;

pub fn snapshot_file(data: &[u8]) {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let mut file = rest.to_vec();
    if control & 1 == 1 {
        fix_checksums(&mut file);
    }
    let fs = Arc::new(MemoryFs::default());
    let env: Arc<dyn FileSystem> = fs.clone();
    let path = Path::new("/data").join(snapshot_name(1));
    fs.put(&path, &file);

    let verified = verify_with_env(&env, &path);
    match load(&env, &path) {
        Ok((info, content)) => {
            // What loads verifies, and holds as much content as its trailer says.
            let checked = verified.expect("a snapshot that loads verifies");
            assert_eq!(checked, info);
            if let Some(content) = content {
                assert_eq!(content.len() as u64, info.content_len);
                if !info.compressed {
                    assert_eq!(content, file[HEADER_LEN..file.len() - TRAILER_LEN]);
                }
                rewrite_loads_the_same(&env, &info, &content);
            }
        }
        // The checksum covers the stored bytes, so only a zstd body can verify and
        // still not load (its frame is checked when decompressed).
        Err(e) => {
            if let Ok(info) = verified {
                assert!(
                    info.compressed,
                    "a plain snapshot verifies but does not load: {e}"
                );
            }
        }
    }
}

/// Opens, reads and finishes a snapshot as the server's recovery does; the content,
/// unless it is larger than [`CONTENT_LIMIT`].
fn load(
    env: &Arc<dyn FileSystem>,
    path: &Path,
) -> ferrokeeper_storage::Result<(SnapshotInfo, Option<Vec<u8>>)> {
    let mut reader = SnapshotReader::open_with_env(env, path)?;
    let info = reader.info().clone();
    let mut content = Vec::new();
    if let Err(e) = (&mut reader).take(CONTENT_LIMIT).read_to_end(&mut content) {
        // The reader carries its error inside; finish returns it as this crate's.
        let finished = reader.finish();
        assert!(
            finished.is_err(),
            "a read failed ({e}) but finish succeeded"
        );
        return finished.map(|_| unreachable!());
    }
    let unread = reader.finish()?;
    Ok((info, (unread == 0).then_some(content)))
}

/// The writer, given the content and settings loaded, makes a snapshot that loads to
/// the same content.
fn rewrite_loads_the_same(env: &Arc<dyn FileSystem>, info: &SnapshotInfo, content: &[u8]) {
    let opts = SnapshotOptions {
        zstd_level: info.compressed.then_some(1),
    };
    let mut writer = SnapshotWriter::create_with_env(env.clone(), "/rewritten", info.zxid, opts)
        .expect("create");
    std::io::Write::write_all(&mut writer, content).expect("write");
    let written = writer.finish().expect("finish");
    let (again, reloaded) = load(env, &written.path).expect("a rewritten snapshot loads");
    assert_eq!((again.zxid, again.compressed), (info.zxid, info.compressed));
    assert_eq!(reloaded.as_deref(), Some(content));
}

/// Recomputes the header's, the body's and the trailer's crc32c in place (where the
/// file is long enough to have them).
fn fix_checksums(file: &mut [u8]) {
    let put_crc = |file: &mut [u8], covered: std::ops::Range<usize>, at: usize| {
        let crc = crc32c(&file[covered]);
        file[at..at + 4].copy_from_slice(&crc.to_be_bytes());
    };
    if file.len() >= HEADER_LEN {
        put_crc(file, 0..28, 28);
    }
    if file.len() >= HEADER_LEN + TRAILER_LEN {
        let trailer = file.len() - TRAILER_LEN;
        put_crc(file, HEADER_LEN..trailer, trailer + 24);
        put_crc(file, trailer..trailer + 28, trailer + 28);
    }
}
