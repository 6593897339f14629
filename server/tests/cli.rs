//! The `ferrokeeper` command line. (Also makes `cargo test` build the binary that the
//! end-to-end tests in `tests/` run.)

use std::process::Command;

fn ferrokeeper() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ferrokeeper"))
}

#[test]
fn help_lists_zookeeper_option_names() {
    let out = ferrokeeper().arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(help.contains("ZOO_CFG"), "{help}");
    // Every flag that stands for a zoo.cfg key says which, before what it means.
    for (flag, key) in [
        ("--port <PORT>", "clientPort"),
        ("--bind <IP>", "clientPortAddress"),
        ("--data-dir <DIR>", "dataDir"),
        ("--data-log-dir <DIR>", "dataLogDir"),
        ("--tick-time <MS>", "tickTime"),
        ("--extended-types", "extendedTypesEnabled"),
        ("--admin-port <PORT>", "admin.serverPort"),
        ("--max-client-cnxns <N>", "maxClientCnxns"),
    ] {
        let line = help
            .lines()
            .find(|line| line.trim_start().starts_with(flag))
            .unwrap_or_else(|| panic!("no {flag} in --help:\n{help}"));
        assert!(line.contains(&format!("{key}: ")), "{line}");
    }
    // Every key the server reads is listed, under each of its names, with its meaning
    // — the same table zoo.cfg and --set go through.
    for key in ferrokeeper::config::KEYS {
        for name in key.names {
            assert!(help.contains(name), "--help does not list {name}:\n{help}");
        }
        assert!(help.contains(key.help), "--help lacks {:?}", key.help);
    }
    // A flag's value is checked as its zoo.cfg key's is.
    let out = ferrokeeper().args(["--tick-time", "0"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("tickTime") && err.contains("positive"),
        "{err}"
    );
}

#[test]
fn invalid_config_value_stops_startup_naming_the_key() {
    let dir = std::env::temp_dir().join(format!("fk-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("zoo.cfg");
    std::fs::write(&cfg, "clientPort=notaport\n").unwrap();
    let out = ferrokeeper().arg(&cfg).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("clientPort") && err.contains("notaport"),
        "{err}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn missing_config_file_is_reported() {
    let out = ferrokeeper().arg("/nonexistent/zoo.cfg").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/zoo.cfg"));
}

#[test]
fn port_zero_prints_the_address_and_sigterm_exits_cleanly() {
    use std::io::{BufRead, BufReader};
    let mut child = ferrokeeper()
        .args(["--port", "0", "--bind", "127.0.0.1", "--log", "warn"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr: std::net::SocketAddr = line.trim().parse().expect("address on stdout");
    assert!(std::net::TcpStream::connect(addr).is_ok());
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    assert!(child.wait().unwrap().success());
}
