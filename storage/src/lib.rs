//! Ferrokeeper's durable storage: the transaction log (`dataLogDir`) and snapshots
//! (`dataDir`). It stores opaque bytes tagged with zxids; it knows nothing of znodes,
//! sessions or the wire protocol.
//!
//! Map of the crate:
//! - [`log`]: [`Log`] — append entries, one sync per batch, segments with
//!   preallocation, recovery ([`Recovery`], [`Replay`]) with torn-tail repair and
//!   corruption errors, reads by key ([`LogReader`]), suffix truncation and prefix
//!   purge;
//! - [`group_commit`]: [`GroupCommit`] — many producers, one fsync;
//! - [`snapshot`]: [`SnapshotWriter`], [`SnapshotReader`], [`latest_valid_snapshot`];
//! - [`mod@purge`]: retention ([`purge()`], [`plan_purge`]);
//! - [`state_file`]: small files replaced atomically ([`write_state_file`]);
//! - [`mod@env`]: the file-system trait everything goes through, and a fault-injecting
//!   implementation for tests;
//! - [`options`], [`error`], [`zxid`]: settings, the error type, zxid helpers.
//!
//! Start-up, as the server is meant to do it:
//!
//! ```no_run
//! # fn main() -> ferrokeeper_storage::Result<()> {
//! use ferrokeeper_storage::*;
//! let selection = latest_valid_snapshot("/var/lib/fk/data")?;
//! for bad in &selection.invalid_newer {
//!     eprintln!("skipping invalid snapshot: {bad}");
//! }
//! let snap_zxid = match &selection.latest {
//!     Some(info) => {
//!         let mut reader = SnapshotReader::open(&info.path)?;
//!         // ... deserialize the tree from `reader` ...
//!         reader.finish()?;
//!         info.zxid
//!     }
//!     None => 0,
//! };
//! let (log, recovery) = Log::open("/var/lib/fk/log", LogOptions::default())?;
//! for repair in recovery.repairs() {
//!     eprintln!("log recovery: {repair}");
//! }
//! for entry in recovery.entries_after(snap_zxid)? {
//!     let entry = entry?;
//!     // ... apply entry.payload ...
//! }
//! let commit = GroupCommit::start(log, GroupCommitOptions::default())?;
//! # Ok(()) }
//! ```

pub mod env;
pub mod error;
pub mod group_commit;
pub mod log;
pub mod options;
pub mod purge;
pub mod snapshot;
pub mod state_file;
pub mod zxid;

pub use error::{Corruption, Error, Result};
pub use group_commit::{Commit, GroupCommit, GroupCommitStats};
pub use log::reader::{read_segment, ScanEnd, SegmentDump};
pub use log::{Entry, Log, LogReader, Recovery, Repair, Replay, SegmentInfo};
pub use options::{GroupCommitOptions, LogOptions, RecoveryMode, SnapshotOptions};
pub use purge::{plan_purge, purge, purge_with_env, PurgePlan};
pub use snapshot::{
    latest_valid_snapshot, latest_valid_snapshot_with_env, list_snapshots, remove_temp_files,
    SnapshotInfo, SnapshotReader, SnapshotSelection, SnapshotWriter,
};
pub use state_file::{read_state_file, write_state_file};
pub use zxid::Zxid;
