//! Operator tools, run as subcommands of the `ferrokeeper` binary:
//!
//! - [`log_dump`]: `ferrokeeper log dump <file>` — one log segment, human-readable;
//! - [`snapshot_dump`]: `ferrokeeper snapshot dump [--data] <file>` — a snapshot,
//!   verified, human-readable;
//! - [`snapshot_take`]: `ferrokeeper snapshot take [--data-dir D] [--data-log-dir D]
//!   [zoo.cfg]` — offline compaction: recover, write a fresh snapshot;
//! - [`snapshot_export`]: `ferrokeeper snapshot export-zookeeper --out DIR ...` — the
//!   state written as Apache ZooKeeper's snapshot, to move back to ZooKeeper;
//! - [`format`]: how they spell zxids, times, data, ACLs.
//!
//! Exit status: 0 success; 1 the file or directory cannot be used (message on
//! stderr); 2 bad usage or configuration; 3 a dump was printed but found damage that
//! recovery would refuse.

pub mod format;
pub mod log_dump;
pub mod snapshot_dump;
pub mod snapshot_export;
pub mod snapshot_take;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

/// The server's dataDir when neither zoo.cfg nor a flag names one (ZooKeeper's sample
/// config uses /tmp/zookeeper).
pub const DEFAULT_DATA_DIR: &str = "/tmp/ferrokeeper";

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Transaction log tools.
    Log {
        #[command(subcommand)]
        command: LogCommand,
    },
    /// Snapshot tools.
    Snapshot {
        #[command(subcommand)]
        command: SnapshotCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum LogCommand {
    /// List one log segment (a log.<hex> file), like ZooKeeper's LogFormatter.
    ///
    /// Prints the header, one line per transaction (zxid, time, session, the op and
    /// its fields; a multi's ops indented below it) and how the records end: cleanly,
    /// at preallocated zeros, at a torn tail, or at damage, with its offset. Exit 0
    /// when readable (a torn tail is reported, recovery cuts it), 3 when damaged before
    /// its tail (recovery would refuse), 1 when unreadable.
    Dump {
        /// The segment file.
        file: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
pub enum SnapshotCommand {
    /// List a snapshot (a snapshot.<hex> file), like ZooKeeper's SnapshotFormatter.
    ///
    /// Verifies the file's checksum first (exit 1 if it does not verify), then prints
    /// the header, the sessions, every znode's stat and ACL (in path order, parents
    /// first), and a summary.
    Dump {
        /// Also show a preview of each znode's data.
        #[arg(long)]
        data: bool,
        /// The snapshot file.
        file: PathBuf,
    },
    /// Offline compaction: write a fresh snapshot of a stopped server's data dir.
    ///
    /// Recovers the state from the data directories as the server does at start
    /// (newest valid snapshot, then the log after it), writes a snapshot at the last
    /// zxid and prints its path. Refuses while a server is running on them.
    Take(TakeArgs),
    /// Write a stopped server's state as Apache ZooKeeper's snapshot, to move back.
    ///
    /// Recovers the state as `snapshot take` does (refusing while a server runs on the
    /// directories) and writes OUT/version-2/snapshot.<zxid> in ZooKeeper's format:
    /// every znode with its data, ACL and stat, and the sessions. Start ZooKeeper with
    /// dataDir=OUT (an empty directory, or one whose ZooKeeper files are all older).
    ExportZookeeper(ExportArgs),
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    #[command(flatten)]
    pub source: TakeArgs,
    /// ZooKeeper's dataDir to write to (it must exist; version-2/ is created in it).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

#[derive(Args, Debug)]
pub struct TakeArgs {
    /// A zoo.cfg file: dataDir, dataLogDir, ferrokeeper.snapshot.zstdLevel and the
    /// recovery settings are taken from it.
    #[arg(value_name = "ZOO_CFG")]
    pub config_file: Option<PathBuf>,
    /// dataDir: where the snapshots are (and the log, unless --data-log-dir)
    /// [default: /tmp/ferrokeeper, as the server].
    #[arg(long, env = "ZOO_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// dataLogDir: where the transaction log is, if apart from dataDir.
    #[arg(long)]
    pub data_log_dir: Option<PathBuf>,
}

/// Why a tool stopped.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error("cannot read {what} {}: {reason}", path.display())]
    Unreadable {
        what: &'static str,
        path: PathBuf,
        reason: String,
    },
    #[error(
        "{} is locked: a ferrokeeper server (or another tool) is running on this data \
         directory; stop it first (a running server takes its own snapshots every \
         snapCount transactions)",
        lock.display()
    )]
    Locked { lock: PathBuf },
    #[error("{0}")]
    Config(#[from] crate::config::ConfigError),
    #[error("{0}")]
    Failed(String),
    #[error("cannot write the output: {0}")]
    Output(#[from] std::io::Error),
}

/// How a dump went, when it could be printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Ok,
    /// Printed, but with damage recovery would refuse (see the listing's end).
    Damaged,
}

/// Runs one tool; what it prints goes to stdout, errors to stderr.
pub fn run(command: Command) -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    let (name, result) = match command {
        Command::Log {
            command: LogCommand::Dump { file },
        } => ("log dump", with_stdout(|out| log_dump::dump(&file, out))),
        Command::Snapshot {
            command: SnapshotCommand::Dump { data, file },
        } => (
            "snapshot dump",
            with_stdout(|out| snapshot_dump::dump(&file, data, out)),
        ),
        Command::Snapshot {
            command: SnapshotCommand::Take(args),
        } => ("snapshot take", take(args)),
        Command::Snapshot {
            command: SnapshotCommand::ExportZookeeper(args),
        } => ("snapshot export-zookeeper", export_zookeeper(args)),
    };
    match result {
        Ok(Verdict::Ok) => ExitCode::SUCCESS,
        Ok(Verdict::Damaged) => ExitCode::from(3),
        // `| head`: the reader went away, which is not the tool's failure.
        Err(ToolError::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ferrokeeper {name}: {e}");
            ExitCode::from(match e {
                ToolError::Config(_) => 2,
                _ => 1,
            })
        }
    }
}

/// Runs `tool` on a buffered, locked stdout, flushing it at the end.
fn with_stdout(
    tool: impl FnOnce(&mut dyn Write) -> Result<Verdict, ToolError>,
) -> Result<Verdict, ToolError> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let verdict = tool(&mut out)?;
    out.flush()?;
    Ok(verdict)
}

fn source_config(args: TakeArgs) -> Result<crate::config::Config, ToolError> {
    Ok(snapshot_take::config(
        args.config_file.as_deref(),
        args.data_dir,
        args.data_log_dir,
    )?)
}

fn take(args: TakeArgs) -> Result<Verdict, ToolError> {
    let config = source_config(args)?;
    let taken = snapshot_take::take(&config)?;
    let snap = &taken.snapshot;
    eprintln!(
        "ferrokeeper snapshot take: recovered zxid 0x{:x} from dataDir {} and dataLogDir {} \
         ({} replayed from the log); wrote {} and {}, {}{}",
        snap.zxid,
        taken.dirs.snapshots.display(),
        taken.dirs.log.display(),
        format::count(taken.replayed as usize, "transaction"),
        format::count(taken.nodes, "znode"),
        format::count(taken.sessions, "session"),
        format::count(snap.file_len as usize, "byte"),
        if snap.compressed { ", zstd" } else { "" }
    );
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", snap.path.display())?;
    out.flush()?;
    Ok(Verdict::Ok)
}

fn export_zookeeper(args: ExportArgs) -> Result<Verdict, ToolError> {
    let config = source_config(args.source)?;
    let exported = snapshot_export::export(&config, &args.out)?;
    eprintln!(
        "ferrokeeper snapshot export-zookeeper: wrote zxid 0x{:x}: {} and {}, {}",
        exported.zxid,
        format::count(exported.nodes, "znode"),
        format::count(exported.sessions, "session"),
        format::count(exported.bytes as usize, "byte"),
    );
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", exported.path.display())?;
    out.flush()?;
    Ok(Verdict::Ok)
}
