//! Recovery: torn tails are cut and reported; damage anywhere else is an error naming
//! the file and offset (or, when the operator asks, a truncation reported as a warning).

mod common;

use std::fs;
use std::path::Path;

use common::*;
use ferrokeeper_storage::log::format::{segment_name, SegmentHeader};
use ferrokeeper_storage::{Corruption, Error, Log, LogOptions, RecoveryMode, Repair};

/// A log of one segment holding 1..=n, written in batches of 4, left as after a crash
/// (not closed: the preallocated zero tail is still there).
fn one_segment_log(n: i64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = Log::open(dir.path(), opts()).unwrap();
    write(&mut log, 1..=n, 4);
    drop(log);
    dir
}

fn open_err(dir: &Path, opts: LogOptions) -> Error {
    Log::open(dir, opts).expect_err("open should fail")
}

#[test]
fn preallocated_zero_tail_is_not_damage() {
    let dir = one_segment_log(10);
    let seg = &segments(dir.path())[0];
    assert_eq!(fs::metadata(seg).unwrap().len(), 4096);
    let (_log, recovery) = Log::open(dir.path(), opts()).unwrap();
    assert!(recovery.repairs().is_empty(), "{:?}", recovery.repairs());
    assert_eq!(replay(&recovery, 0), (1..=10).collect::<Vec<_>>());
    // The unused preallocation of the old segment is released.
    let end = *record_offsets(1..=11).last().unwrap();
    assert_eq!(fs::metadata(seg).unwrap().len(), end);
}

/// A last record whose payload ends in zeros looks, byte for byte, like a shorter
/// record followed by preallocated space; recovery keeps it whole (it is judged on the
/// whole file, not only up to its last non-zero byte).
#[test]
fn a_last_record_ending_in_zeros_is_kept_whole() {
    let dir = tempfile::tempdir().unwrap();
    let opts = LogOptions {
        prealloc_size: 4 << 20,
        ..opts()
    };
    let (mut log, _) = Log::open(dir.path(), opts.clone()).unwrap();
    write(&mut log, 1..=3, 4);
    // Longer than recovery's margin for trailing zeros (1 MiB), inside a preallocation
    // that leaves zeros after it.
    let mut zeros = vec![0u8; 1_500_000];
    zeros[0] = 7;
    log.append(&[ferrokeeper_storage::Entry::new(4, zeros.clone())])
        .unwrap();
    log.sync().unwrap();
    drop(log);
    let (_log, recovery) = Log::open(dir.path(), opts).unwrap();
    assert!(recovery.repairs().is_empty(), "{:?}", recovery.repairs());
    let last = recovery.entries_after(3).unwrap().next().unwrap().unwrap();
    assert_eq!((last.zxid, &last.payload[..]), (4, &zeros[..]));
}

/// Cuts the last record at every byte, both by truncating the file and by zeroing
/// from the cut (a torn write into preallocated space): the record is dropped and
/// reported, everything before it survives, and the log carries on.
#[test]
fn torn_last_record_is_truncated_at_every_offset() {
    let n = 10;
    let original = one_segment_log(n);
    let offsets = record_offsets(1..=n + 1);
    let (last_start, end) = (offsets[n as usize - 1], offsets[n as usize]);
    for cut in last_start..end {
        for zero_fill in [false, true] {
            let dir = copy_dir(original.path());
            let seg = &segments(dir.path())[0];
            let mut data = fs::read(seg).unwrap();
            if zero_fill {
                data[cut as usize..].fill(0);
            } else {
                data.truncate(cut as usize);
            }
            fs::write(seg, &data).unwrap();

            let (mut log, recovery) = Log::open(dir.path(), opts()).unwrap();
            let what = format!("cut at {cut} (zero fill: {zero_fill})");
            assert_eq!(replay(&recovery, 0), (1..n).collect::<Vec<_>>(), "{what}");
            // Bytes of the torn record that made it to disk, up to the last non-zero one
            // (its length field starts with zero bytes, which look like padding).
            let dropped = data[last_start as usize..cut as usize]
                .iter()
                .rposition(|&b| b != 0)
                .map_or(0, |i| i as u64 + 1);
            if dropped == 0 {
                assert!(recovery.repairs().is_empty(), "{what}");
            } else {
                match recovery.repairs() {
                    [Repair::TornTail {
                        path,
                        offset,
                        dropped_bytes,
                        ..
                    }] => {
                        assert_eq!(path, seg, "{what}");
                        assert_eq!(*offset, last_start, "{what}");
                        assert_eq!(*dropped_bytes, dropped, "{what}");
                    }
                    other => panic!("{what}: {other:?}"),
                }
            }
            assert_eq!(recovery.dropped_bytes(), dropped, "{what}");
            assert_eq!(fs::metadata(seg).unwrap().len(), last_start, "{what}");
            assert_eq!(log.last_zxid(), n - 1);
            // The lost zxid is free again.
            write(&mut log, n..=n + 1, 2);
            drop(log);
            let (_log, recovery) = Log::open(dir.path(), opts()).unwrap();
            assert!(recovery.repairs().is_empty(), "{what}");
            assert_eq!(
                replay(&recovery, 0),
                (1..=n + 1).collect::<Vec<_>>(),
                "{what}"
            );
        }
    }
}

#[test]
fn bit_flip_in_the_last_record_is_a_torn_tail() {
    let dir = one_segment_log(10);
    let seg = &segments(dir.path())[0];
    let last = record_offsets(1..=10)[9];
    flip_byte(seg, last + 20);
    let (_log, recovery) = Log::open(dir.path(), opts()).unwrap();
    assert_eq!(replay(&recovery, 0), (1..=9).collect::<Vec<_>>());
    assert!(matches!(
        recovery.repairs(),
        [Repair::TornTail { offset, kind: Corruption::BadChecksum, .. }] if *offset == last
    ));
}

#[test]
fn bit_flip_before_the_tail_is_an_error_naming_file_and_offset() {
    let offsets = record_offsets(1..=10);
    for victim in [0usize, 4, 8] {
        for within in [2u64, 6, 14, 18] {
            // length, zxid, checksum, payload
            let dir = one_segment_log(10);
            let seg = &segments(dir.path())[0];
            flip_byte(seg, offsets[victim] + within);
            let before = fs::read(seg).unwrap();
            match open_err(dir.path(), opts()) {
                Error::CorruptLog { path, offset, kind } => {
                    assert_eq!(&path, seg);
                    assert_eq!(offset, offsets[victim], "record {victim} byte {within}");
                    assert!(
                        matches!(kind, Corruption::ValidRecordFollows { .. }),
                        "{kind:?}"
                    );
                    let msg = Error::CorruptLog { path, offset, kind }.to_string();
                    assert!(msg.contains(&seg.display().to_string()), "{msg}");
                    assert!(
                        msg.contains(&format!("offset {}", offsets[victim])),
                        "{msg}"
                    );
                }
                other => panic!("{other:?}"),
            }
            // A refused open changes nothing.
            assert_eq!(fs::read(seg).unwrap(), before);
        }
    }
}

#[test]
fn damage_in_an_earlier_segment_is_an_error_even_at_its_end() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = Log::open(dir.path(), small_opts()).unwrap();
    write(&mut log, 1..=200, 5);
    drop(log);
    let segs = segments(dir.path());
    assert!(segs.len() >= 3);
    // Flip the very last byte of the first segment's last record.
    let len = fs::metadata(&segs[0]).unwrap().len();
    flip_byte(&segs[0], len - 1);
    match open_err(dir.path(), small_opts()) {
        Error::CorruptLog { path, kind, .. } => {
            assert_eq!(path, segs[0]);
            assert_eq!(kind, Corruption::BadChecksum);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn missing_middle_segment_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = Log::open(dir.path(), small_opts()).unwrap();
    write(&mut log, 1..=200, 5);
    drop(log);
    let segs = segments(dir.path());
    fs::remove_file(&segs[1]).unwrap();
    match open_err(dir.path(), small_opts()) {
        Error::MissingSegment {
            path,
            previous,
            expected_prev,
            previous_last,
        } => {
            assert_eq!(path, segs[2]);
            assert_eq!(previous.as_deref(), Some(segs[0].as_path()));
            assert!(expected_prev > previous_last);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn missing_first_segments_only_limit_how_far_back_replay_goes() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = Log::open(dir.path(), small_opts()).unwrap();
    write(&mut log, 1..=200, 5);
    drop(log);
    let segs = segments(dir.path());
    fs::remove_file(&segs[0]).unwrap();
    let (_log, recovery) = Log::open(dir.path(), small_opts()).unwrap();
    let oldest = recovery.segments()[0].clone();
    assert_eq!(
        replay(&recovery, oldest.prev_zxid),
        ((oldest.prev_zxid + 1)..=200).collect::<Vec<_>>()
    );
    match recovery.entries_after(oldest.prev_zxid - 1) {
        Err(Error::LogTooShort {
            after,
            oldest: path,
            oldest_prev,
        }) => {
            assert_eq!(after, oldest.prev_zxid - 1);
            assert_eq!(path, oldest.path);
            assert_eq!(oldest_prev, oldest.prev_zxid);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn bad_header_is_an_error_except_for_an_incomplete_last_segment() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = Log::open(dir.path(), small_opts()).unwrap();
    write(&mut log, 1..=200, 5);
    drop(log);
    let segs = segments(dir.path());

    let broken = copy_dir(dir.path());
    flip_byte(&broken.path().join(segs[1].file_name().unwrap()), 20);
    match open_err(broken.path(), small_opts()) {
        Error::CorruptLog {
            path, offset, kind, ..
        } => {
            assert_eq!(path.file_name(), segs[1].file_name());
            assert_eq!(offset, 0);
            assert_eq!(kind, Corruption::BadHeaderChecksum);
        }
        other => panic!("{other:?}"),
    }

    let broken = copy_dir(dir.path());
    fs::write(
        broken.path().join(segs[1].file_name().unwrap()),
        [b'Z'; 100],
    )
    .unwrap();
    assert!(matches!(
        open_err(broken.path(), small_opts()),
        Error::CorruptLog {
            kind: Corruption::BadMagic,
            offset: 0,
            ..
        }
    ));

    // A last segment cut inside its header was being created when the crash came.
    let last = segs.last().unwrap();
    for len in [0usize, 1, 39] {
        let torn = copy_dir(dir.path());
        let path = torn.path().join(last.file_name().unwrap());
        let data = fs::read(&path).unwrap();
        fs::write(&path, &data[..len]).unwrap();
        let (_log, recovery) = Log::open(torn.path(), small_opts()).unwrap();
        assert!(matches!(
            recovery.repairs(),
            [Repair::RemovedIncompleteSegment { .. }]
        ));
        assert!(!path.exists());
        assert_eq!(
            recovery.last_zxid(),
            recovery.segments().last().unwrap().last_zxid
        );
        assert_eq!(replay(&recovery, 0).len() as i64, recovery.last_zxid());
    }
}

/// Found by the `log_segments` fuzz target (input `empty-segment-left-last` in its
/// corpus): a segment holding only its header, followed by a last segment cut inside
/// its header. The first open removed the last one, leaving the empty one last, which
/// the second open then removed: recovery left something for the next open to repair.
#[test]
fn removing_an_incomplete_last_segment_removes_empty_ones_before_it_too() {
    let dir = one_segment_log(3);
    let empty = SegmentHeader {
        first_zxid: 4,
        prev_zxid: 3,
    };
    let empty_path = dir.path().join(segment_name(4));
    fs::write(&empty_path, empty.encode()).unwrap();
    let torn_path = dir.path().join(segment_name(5));
    fs::write(&torn_path, &empty.encode()[..10]).unwrap();

    let (log, recovery) = Log::open(dir.path(), opts()).unwrap();
    drop(log);
    let removed: Vec<_> = recovery
        .repairs()
        .iter()
        .map(|r| match r {
            Repair::RemovedIncompleteSegment { path, .. } => path.clone(),
            other => panic!("{other}"),
        })
        .collect();
    assert_eq!(removed, [torn_path, empty_path]);
    assert_eq!(recovery.segments().len(), 1);
    assert_eq!(replay(&recovery, 0), [1, 2, 3]);
    let (_log, again) = Log::open(dir.path(), opts()).unwrap();
    assert!(again.repairs().is_empty(), "{:?}", again.repairs());
}

#[test]
fn a_file_with_an_unknown_version_is_refused() {
    let dir = one_segment_log(3);
    let seg = &segments(dir.path())[0];
    let mut data = fs::read(seg).unwrap();
    data[11] = 9; // version 9
    let crc = crc32c(&data[..36]);
    data[36..40].copy_from_slice(&crc.to_be_bytes());
    fs::write(seg, data).unwrap();
    assert!(matches!(
        open_err(dir.path(), opts()),
        Error::UnsupportedVersion { version: 9, .. }
    ));
}

fn crc32c(data: &[u8]) -> u32 {
    // The same function the format uses, spelled out here to forge headers.
    let mut crc = !0u32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn truncate_mode_cuts_at_the_first_bad_record_and_warns() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = Log::open(dir.path(), small_opts()).unwrap();
    write(&mut log, 1..=200, 5);
    drop(log);
    let segs = segments(dir.path());
    let victim = &segs[1];
    let first_in_victim = {
        let (_l, r) = Log::open(dir.path(), small_opts()).unwrap();
        r.segments()[1].first_zxid
    };
    let offsets = record_offsets(first_in_victim..first_in_victim + 3);
    flip_byte(victim, offsets[2] + 18);

    let strict = open_err(dir.path(), small_opts());
    let truncate = LogOptions {
        recovery: RecoveryMode::TruncateAtFirstCorruption,
        ..small_opts()
    };
    let (mut log, recovery) = Log::open(dir.path(), truncate).unwrap();
    let kept_last = first_in_victim + 1;
    assert_eq!(replay(&recovery, 0), (1..=kept_last).collect::<Vec<_>>());
    match recovery.repairs() {
        [Repair::TruncatedAtCorruption {
            error,
            saved_copy,
            discarded,
        }] => {
            assert_eq!(error.to_string(), strict.to_string());
            let copy = saved_copy.as_ref().unwrap();
            assert!(copy.to_str().unwrap().ends_with(".corrupt"));
            assert!(copy.exists());
            assert_eq!(discarded.len(), segs.len() - 2);
            assert!(discarded.iter().all(|p| p.exists()));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(log.last_zxid(), kept_last);
    write(&mut log, kept_last + 1..=kept_last + 3, 3);
    drop(log);
    // A strict open is happy with the result.
    let (_log, recovery) = Log::open(dir.path(), small_opts()).unwrap();
    assert!(recovery.repairs().is_empty());
    assert_eq!(
        replay(&recovery, 0),
        (1..=kept_last + 3).collect::<Vec<_>>()
    );
}

#[test]
fn truncate_mode_also_handles_a_missing_segment() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = Log::open(dir.path(), small_opts()).unwrap();
    write(&mut log, 1..=200, 5);
    drop(log);
    let segs = segments(dir.path());
    fs::remove_file(&segs[1]).unwrap();
    let truncate = LogOptions {
        recovery: RecoveryMode::TruncateAtFirstCorruption,
        ..small_opts()
    };
    let (_log, recovery) = Log::open(dir.path(), truncate).unwrap();
    assert_eq!(recovery.segments().len(), 1);
    assert!(matches!(
        recovery.repairs(),
        [Repair::TruncatedAtCorruption { error: Error::MissingSegment { .. }, saved_copy: None, discarded }]
            if discarded.len() == segs.len() - 2
    ));
}

#[test]
fn records_out_of_order_are_corruption_not_a_tail() {
    // Two valid logs spliced: the second segment's records restart at 1.
    let a = tempfile::tempdir().unwrap();
    let (mut log, _) = Log::open(a.path(), opts()).unwrap();
    write(&mut log, 1..=5, 5);
    drop(log);
    let seg = &segments(a.path())[0];
    let mut data = fs::read(seg).unwrap();
    let end = record_offsets(1..=6)[5] as usize;
    let first = record_offsets(1..=1)[0] as usize;
    let second = record_offsets(1..=2)[1] as usize;
    let copy = data[first..second].to_vec(); // record 1 again
    data.truncate(end);
    data.extend_from_slice(&copy);
    fs::write(seg, data).unwrap();
    assert!(matches!(
        open_err(a.path(), opts()),
        Error::CorruptLog {
            kind: Corruption::ZxidOutOfOrder { prev: 5, zxid: 1 },
            ..
        }
    ));
}

#[test]
fn a_record_cut_cleanly_out_of_a_segment_is_a_gap() {
    let dir = one_segment_log(10);
    let seg = &segments(dir.path())[0];
    let offsets = record_offsets(1..=11);
    let mut data = fs::read(seg).unwrap();
    // Remove record 5 exactly, so every remaining record still verifies.
    data.drain(offsets[4] as usize..offsets[5] as usize);
    fs::write(seg, data).unwrap();
    match open_err(dir.path(), opts()) {
        Error::CorruptLog { path, offset, kind } => {
            assert_eq!(&path, seg);
            assert_eq!(offset, offsets[4]);
            assert_eq!(kind, Corruption::ZxidGap { prev: 4, zxid: 6 });
        }
        other => panic!("{other:?}"),
    }
}

/// Flips one bit at (a sample of) every byte of a small multi-segment log. Each time,
/// recovery either refuses with an error naming the damaged file, or succeeds having
/// lost at most the very last record — and then says so. Never anything else.
#[test]
fn any_single_bit_flip_is_refused_or_repaired_never_silently_lost() {
    let original = tempfile::tempdir().unwrap();
    let opts = LogOptions {
        segment_size: 400,
        prealloc_size: 512,
        ..LogOptions::default()
    };
    let (mut log, _) = Log::open(original.path(), opts.clone()).unwrap();
    let n = 40;
    write(&mut log, 1..=n, 3);
    drop(log); // not closed: the last segment keeps its zero padding
    let files: Vec<(std::path::PathBuf, Vec<u8>)> = segments(original.path())
        .into_iter()
        .map(|p| {
            let data = fs::read(&p).unwrap();
            (p, data)
        })
        .collect();
    assert!(files.len() >= 3);

    let mut trials = 0;
    let (mut refused, mut repaired) = (0, 0);
    for (f, (victim, bytes)) in files.iter().enumerate() {
        for offset in (0..bytes.len()).step_by(3) {
            let dir = tempfile::tempdir().unwrap();
            for (j, (p, data)) in files.iter().enumerate() {
                let mut data = data.clone();
                if j == f {
                    data[offset] ^= 1 << (offset % 8);
                }
                fs::write(dir.path().join(p.file_name().unwrap()), data).unwrap();
            }
            let what = format!("bit flip in {} at {offset}", victim.display());
            trials += 1;
            match Log::open(dir.path(), opts.clone()) {
                Err(e) => {
                    refused += 1;
                    assert!(e.is_corruption(), "{what}: {e}");
                    let name = victim.file_name().unwrap().to_str().unwrap();
                    assert!(e.to_string().contains(name), "{what}: {e}");
                }
                Ok((_log, recovery)) => {
                    let got = replay(&recovery, 0);
                    assert_eq!(got, (1..=got.len() as i64).collect::<Vec<_>>(), "{what}");
                    let lost = n - got.len() as i64;
                    assert!(lost <= 1, "{what}: lost {lost} records");
                    assert_eq!(f, files.len() - 1, "{what}: only the last segment repairs");
                    assert!(
                        !recovery.repairs().is_empty(),
                        "{what}: repair not reported"
                    );
                    repaired += 1;
                }
            }
        }
    }
    assert_eq!(refused + repaired, trials);
    assert!(refused > 0 && repaired > 0);
}

#[test]
fn replay_verifies_again_and_stops_at_damage_done_after_open() {
    let dir = one_segment_log(10);
    let (_log, recovery) = Log::open(dir.path(), opts()).unwrap();
    let seg = &segments(dir.path())[0];
    flip_byte(seg, record_offsets(1..=10)[6] + 20);
    let results: Vec<_> = recovery.entries_after(0).unwrap().collect();
    assert_eq!(
        results.len(),
        7,
        "six entries, then the error, then nothing"
    );
    assert!(results[..6].iter().all(|r| r.is_ok()));
    assert!(matches!(
        &results[6],
        Err(Error::CorruptLog { path, kind: Corruption::BadChecksum, .. }) if path == seg
    ));
}
