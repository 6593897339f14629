//! The `ferrokeeper` command: the server, or one of the operator tools
//! ([`ferrokeeper::tools`]) when a subcommand is given.

use std::path::PathBuf;

use clap::{CommandFactory, FromArgMatches, Parser};
use ferrokeeper::config::ensemble::Mode;
use ferrokeeper::config::{flag_help, keys_help, ConfigError};
use ferrokeeper::docker_entrypoint::ZooEnv;
use ferrokeeper::tools::{self, DEFAULT_DATA_DIR};
use ferrokeeper::Config;

/// A ZooKeeper-compatible coordination server. With no arguments it serves on port
/// 2181 on all interfaces with ZooKeeper's defaults. With a subcommand it runs one of
/// the operator tools instead (`ferrokeeper log dump --help`, ...). Flags override the
/// zoo.cfg file; `--set` overrides both.
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
    #[arg(long, env = "ZOO_PORT", value_name = "PORT", help = flag_help("clientPort"))]
    port: Option<u16>,
    #[arg(long, value_name = "IP", help = flag_help("clientPortAddress"))]
    bind: Option<std::net::IpAddr>,
    #[arg(long, env = "ZOO_DATA_DIR", value_name = "DIR", help = flag_help("dataDir"))]
    data_dir: Option<PathBuf>,
    #[arg(long, value_name = "DIR", help = flag_help("dataLogDir"))]
    data_log_dir: Option<PathBuf>,
    /// Keep everything in memory: no dataDir, nothing survives a restart (a test fixture).
    #[arg(long, conflicts_with_all = ["data_dir", "data_log_dir"])]
    in_memory: bool,
    #[arg(long, value_name = "MS", help = flag_help("tickTime"))]
    tick_time: Option<i32>,
    #[arg(long, help = flag_help("extendedTypesEnabled"))]
    extended_types: bool,
    #[arg(long, value_name = "PORT", help = flag_help("admin.serverPort"))]
    admin_port: Option<u16>,
    #[arg(long, value_name = "N", help = flag_help("maxClientCnxns"))]
    max_client_cnxns: Option<usize>,
    /// Any zoo.cfg key as KEY=VALUE (repeatable; the keys are listed below), e.g.
    /// 4lw.commands.whitelist=*.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    settings: Vec<String>,
    /// Do what the official zookeeper image's docker-entrypoint.sh does first: write
    /// $ZOO_CONF_DIR/zoo.cfg from the ZOO_* environment variables and
    /// $ZOO_DATA_DIR/myid from ZOO_MY_ID, each unless it exists; that zoo.cfg is read
    /// when no other is given (the container image's entrypoint).
    #[arg(long)]
    docker_entrypoint: bool,
    /// Log filter (tracing's RUST_LOG syntax).
    #[arg(long, env = "RUST_LOG", default_value = "info")]
    log: String,
    /// Log format on stderr: `human` or `json` (one object per line).
    #[arg(long, env = "FERROKEEPER_LOG_FORMAT", value_enum, default_value_t = LogFormat::Human)]
    log_format: LogFormat,
}

/// How long a stopping server waits for requests in flight to be answered.
const DRAIN_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum LogFormat {
    Human,
    Json,
}

fn main() -> std::process::ExitCode {
    // The zoo.cfg keys close --help, generated from the table the server reads them with.
    let matches = Cli::command().after_help(keys_help()).get_matches();
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
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
        // Handlers first: the server answers (`srvr`) before `start` returns, and a
        // signal sent during recovery stops it as soon as it is up.
        let stop = stop_signal();
        match ferrokeeper::Server::start(config).await {
            Ok(mut server) => {
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
                    signal = stop => {
                        // "stopping" and the signal: what docker/test.sh and operators grep for.
                        tracing::info!(signal, "stopping");
                        server.drain(DRAIN_GRACE).await;
                        tracing::info!("stopped");
                    }
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
    let mut config_file = cli.config_file.clone().or(cli.config_flag.clone());
    if cli.docker_entrypoint {
        let lookup = |name: &str| std::env::var(name).ok();
        let generated = ZooEnv::new(&lookup).prepare()?;
        config_file.get_or_insert(generated);
    }
    let mut config = match &config_file {
        Some(path) => Config::from_file(path)?,
        None => Config::default(),
    };
    // Each flag sets its zoo.cfg key, checked as the file's keys are.
    let show = |path: &PathBuf| path.display().to_string();
    let flags = [
        ("dataDir", cli.data_dir.as_ref().map(show)),
        ("dataLogDir", cli.data_log_dir.as_ref().map(show)),
        ("tickTime", cli.tick_time.map(|t| t.to_string())),
        ("admin.serverPort", cli.admin_port.map(|p| p.to_string())),
        (
            "maxClientCnxns",
            cli.max_client_cnxns.map(|n| n.to_string()),
        ),
        (
            "extendedTypesEnabled",
            cli.extended_types.then(|| "true".to_owned()),
        ),
    ];
    set_flags(&mut config, flags)?;
    if cli.in_memory {
        config.data_dir = None;
        config.data_log_dir = None;
    } else if config.data_dir.is_none() {
        config.data_dir = Some(PathBuf::from(DEFAULT_DATA_DIR));
    }
    for setting in &cli.settings {
        let (key, value) = setting
            .split_once('=')
            .ok_or_else(|| format!("--set expects KEY=VALUE, got {setting:?}"))?;
        config.set(key.trim(), value.trim())?;
    }
    config.resolve_ensemble()?;
    if let Mode::Quorum(quorum) = &config.mode {
        return Err(format!(
            "server {} is one of {} ensemble members ({} voting): replicated ensembles \
             are not supported yet; run a single server (no server.N lines, or one)",
            quorum.my_id,
            quorum.servers.len(),
            quorum.voters().count()
        )
        .into());
    }
    // After the ensemble lines: the flags override this server's line too.
    let address_flags = [
        ("clientPort", cli.port.map(|p| p.to_string())),
        ("clientPortAddress", cli.bind.map(|ip| ip.to_string())),
    ];
    set_flags(&mut config, address_flags)?;
    Ok(config)
}

fn set_flags<const N: usize>(
    config: &mut Config,
    flags: [(&str, Option<String>); N],
) -> Result<(), ConfigError> {
    for (key, value) in flags {
        if let Some(value) = value {
            config.set(key, &value)?;
        }
    }
    Ok(())
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
