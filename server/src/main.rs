//! The `ferrokeeper` command: the server, or one of the operator tools
//! ([`ferrokeeper::tools`]) when a subcommand is given.

use std::path::PathBuf;

use clap::Parser;
use ferrokeeper::tools::{self, DEFAULT_DATA_DIR};
use ferrokeeper::Config;

/// A ZooKeeper-compatible coordination server. With no arguments it serves on port
/// 2181 on all interfaces with ZooKeeper's defaults. With a subcommand it runs one of
/// the operator tools instead (`ferrokeeper log dump --help`, ...).
#[derive(Parser, Debug)]
#[command(version, about, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    tool: Option<tools::Command>,
    /// A zoo.cfg file (ZooKeeper's properties format), as zkServer takes it.
    #[arg(value_name = "ZOO_CFG")]
    config_file: Option<PathBuf>,
    /// zoo.cfg file (same as the positional argument).
    #[arg(
        long = "config",
        value_name = "ZOO_CFG",
        conflicts_with = "config_file"
    )]
    config_flag: Option<PathBuf>,
    /// clientPort: port for clients; 0 picks a free one and prints the address.
    #[arg(long, env = "ZOO_PORT")]
    port: Option<u16>,
    /// clientPortAddress: address to listen on (default: all interfaces).
    #[arg(long)]
    bind: Option<std::net::IpAddr>,
    /// dataDir: where snapshots and the transaction log live
    /// [default: /tmp/ferrokeeper, as ZooKeeper's sample config uses /tmp/zookeeper].
    #[arg(long, env = "ZOO_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Keep everything in memory: no dataDir, nothing survives a restart (a test fixture).
    #[arg(long, conflicts_with = "data_dir")]
    in_memory: bool,
    /// tickTime in milliseconds: the session-timeout unit.
    #[arg(long)]
    tick_time: Option<i32>,
    /// zookeeper.extendedTypesEnabled: allow TTL nodes.
    #[arg(long)]
    extended_types: bool,
    /// admin.serverPort: the AdminServer's HTTP port (ZooKeeper's default 8080; 0 picks
    /// a free one and logs it). `--set admin.enableServer=false` turns it off.
    #[arg(long)]
    admin_port: Option<u16>,
    /// maxClientCnxns: connections allowed from one client IP (default 60; 0 = no limit).
    #[arg(long)]
    max_client_cnxns: Option<usize>,
    /// Extra zoo.cfg settings as key=value (repeatable), e.g. 4lw.commands.whitelist=*.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    settings: Vec<String>,
    /// Log filter (tracing's RUST_LOG syntax).
    #[arg(long, env = "RUST_LOG", default_value = "info")]
    log: String,
    /// Log format on stderr: `human` or `json` (one object per line).
    #[arg(long, env = "FERROKEEPER_LOG_FORMAT", value_enum, default_value_t = LogFormat::Human)]
    log_format: LogFormat,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum LogFormat {
    Human,
    Json,
}

fn main() -> std::process::ExitCode {
    let mut cli = Cli::parse();
    if let Some(tool) = cli.tool.take() {
        return tools::run(tool);
    }
    let logs = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(&cli.log))
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Human => logs.init(),
        LogFormat::Json => logs.json().init(),
    }
    let config = match build_config(&cli) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("ferrokeeper: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async move {
        let print_addr = config.client_port == 0;
        match ferrokeeper::Server::start(config).await {
            Ok(server) => {
                // Handlers first: a signal sent as soon as the address shows is caught.
                let stop = stop_signal();
                if print_addr {
                    println!("{}", server.addr);
                }
                tokio::select! {
                    stopped = server.wait() => {
                        // Only a failure stops the server on its own (e.g. a log that
                        // cannot go on): say so and exit non-zero.
                        if let Err(e) = stopped {
                            tracing::error!(error = %e, "stopping");
                            eprintln!("ferrokeeper: {e}");
                            return std::process::ExitCode::from(1);
                        }
                    }
                    signal = stop => tracing::info!(signal, "stopping"),
                }
                std::process::ExitCode::SUCCESS
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot start");
                eprintln!("ferrokeeper: {e}");
                std::process::ExitCode::from(1)
            }
        }
    })
}

fn build_config(cli: &Cli) -> Result<Config, Box<dyn std::error::Error>> {
    let mut config = match cli.config_file.as_ref().or(cli.config_flag.as_ref()) {
        Some(path) => Config::from_file(path)?,
        None => Config::default(),
    };
    if let Some(port) = cli.port {
        config.client_port = port;
    }
    if let Some(bind) = cli.bind {
        config.client_port_address = Some(bind);
    }
    if let Some(dir) = &cli.data_dir {
        config.data_dir = Some(dir.clone());
    }
    if cli.in_memory {
        config.data_dir = None;
        config.data_log_dir = None;
    } else if config.data_dir.is_none() {
        config.data_dir = Some(PathBuf::from(DEFAULT_DATA_DIR));
    }
    if let Some(tick) = cli.tick_time {
        config.set("tickTime", &tick.to_string())?;
    }
    if let Some(port) = cli.admin_port {
        config.admin_port = port;
    }
    if let Some(max) = cli.max_client_cnxns {
        config.max_client_cnxns = max;
    }
    if cli.extended_types {
        config.extended_types_enabled = true;
    }
    for setting in &cli.settings {
        let (key, value) = setting
            .split_once('=')
            .ok_or_else(|| format!("--set expects KEY=VALUE, got {setting:?}"))?;
        config.set(key.trim(), value.trim())?;
    }
    Ok(config)
}

/// Installs the SIGINT and SIGTERM handlers now; the future resolves on the first of
/// them, naming it.
fn stop_signal() -> impl std::future::Future<Output = &'static str> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        async move {
            tokio::select! {
                _ = int.recv() => "SIGINT",
                _ = term.recv() => "SIGTERM",
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
            "interrupt"
        }
    }
}
