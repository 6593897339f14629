//! Coverage-guided fuzzing as part of `cargo test`: every cargo-fuzz target of
//! `fuzz/` runs under libFuzzer for `FERROKEEPER_FUZZ_SECS` seconds each (at least 1;
//! by default [`DEFAULT_TOTAL_SECS`] split evenly across the targets, so adding a
//! target does not lengthen the suite), starting from its corpus in the repository.
//! A crash fails the test with
//! the path of the input libFuzzer saved (`fuzz/artifacts/<target>/crash-…`) and the
//! end of its report.
//!
//! cargo-fuzz is installed (`cargo install cargo-fuzz --locked`) when `cargo fuzz` is
//! missing. The targets are built once, together, with `--dev --sanitizer none`
//! (`RUSTC_BOOTSTRAP=1` unlocks the nightly flags on a stable toolchain): unoptimised,
//! the build takes two thirds of the CPU of cargo-fuzz's default optimised one, which
//! keeps the whole test under about 4 minutes on a fresh 2-core machine (both keep
//! overflow checks and debug assertions); and the code under test is safe Rust, which
//! AddressSanitizer would add little to. The build goes to `fuzz/target` whatever
//! `CARGO_TARGET_DIR` says, so it never invalidates the workspace's own build.
//! New inputs libFuzzer finds go to a scratch directory, not into the repository's
//! corpora (see `fuzz/README.md` for adding the useful ones).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Seconds of fuzzing in all when `FERROKEEPER_FUZZ_SECS` is unset: with libFuzzer's
/// start-up, the runs take about as long as when there were seven targets of 10 s.
const DEFAULT_TOTAL_SECS: u64 = 60;
/// Bounds of the steps that are not bounded by libFuzzer itself.
const INSTALL_LIMIT: Duration = Duration::from_secs(15 * 60);
const BUILD_LIMIT: Duration = Duration::from_secs(20 * 60);
/// What a run may take beyond its `-max_total_time` (start-up, corpus loading).
const RUN_GRACE: Duration = Duration::from_secs(120);
/// Flags of both `cargo fuzz build` and `cargo fuzz run` (the run must not rebuild).
const BUILD_FLAGS: [&str; 3] = ["--dev", "--sanitizer", "none"];

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

fn cargo() -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command
        .current_dir(fuzz_dir())
        .env("RUSTC_BOOTSTRAP", "1")
        .env_remove("CARGO_TARGET_DIR")
        .stdin(Stdio::null());
    command
}

/// Runs `command` with its output in `log`, killing it after `limit`; returns
/// whether it succeeded and its output.
fn run_logged(mut command: Command, log: &Path, limit: Duration) -> (bool, String) {
    let file = std::fs::File::create(log).expect("log file");
    let mut child = command
        .stdout(file.try_clone().expect("log file"))
        .stderr(file)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let output = String::from_utf8_lossy(&std::fs::read(log).unwrap_or_default()).into_owned();
    match status {
        Some(status) => (status.success(), output),
        None => (false, format!("{output}\n(killed after {limit:?})")),
    }
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn ensure_cargo_fuzz(scratch: &Path) {
    let mut probe = cargo();
    probe.args(["fuzz", "--version"]);
    if run_logged(probe, &scratch.join("probe.log"), Duration::from_secs(60)).0 {
        return;
    }
    eprintln!("fuzzing: installing cargo-fuzz");
    let mut install = cargo();
    install
        .current_dir(scratch)
        .args(["install", "cargo-fuzz", "--locked"]);
    let (ok, output) = run_logged(install, &scratch.join("install.log"), INSTALL_LIMIT);
    assert!(
        ok,
        "cargo install cargo-fuzz failed:\n{}",
        tail(&output, 30)
    );
}

#[test]
fn every_fuzz_target_runs_under_libfuzzer_without_a_crash() {
    let secs: Option<u64> = std::env::var("FERROKEEPER_FUZZ_SECS").ok().map(|v| {
        v.trim()
            .parse()
            .expect("FERROKEEPER_FUZZ_SECS is a number of seconds")
    });
    // A run without fuzzing leaves the test out (`cargo test -- --skip
    // every_fuzz_target`), so it is not reported as passed.
    assert!(
        secs != Some(0),
        "FERROKEEPER_FUZZ_SECS must be at least 1; to leave fuzzing out, pass --skip every_fuzz_target to the test binary"
    );
    let scratch = std::env::temp_dir().join(format!("ferrokeeper-fuzzing-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).expect("scratch dir");

    let started = Instant::now();
    ensure_cargo_fuzz(&scratch);
    let installed = started.elapsed();
    let mut build = cargo();
    build.args(["fuzz", "build"]).args(BUILD_FLAGS);
    let (ok, output) = run_logged(build, &scratch.join("build.log"), BUILD_LIMIT);
    assert!(ok, "cargo fuzz build failed:\n{}", tail(&output, 40));
    eprintln!(
        "fuzzing: cargo-fuzz ready in {installed:?}, targets built in {:?}",
        started.elapsed() - installed
    );

    let mut list = cargo();
    list.args(["fuzz", "list"]);
    let (ok, targets) = run_logged(list, &scratch.join("list.log"), Duration::from_secs(60));
    assert!(ok, "cargo fuzz list failed:\n{targets}");
    let targets: Vec<&str> = targets.split_whitespace().collect();
    assert!(!targets.is_empty(), "cargo fuzz list names no target");
    let secs = secs.unwrap_or((DEFAULT_TOTAL_SECS / targets.len() as u64).max(1));
    for &target in &targets {
        let seeds = fuzz_dir().join("corpus").join(target);
        assert!(seeds.is_dir(), "no corpus {}", seeds.display());
        // libFuzzer writes what it finds into the first directory only.
        let found = scratch.join("found").join(target);
        std::fs::create_dir_all(&found).expect("corpus scratch dir");
        let mut run = cargo();
        run.args(["fuzz", "run"])
            .args(BUILD_FLAGS)
            .arg(target)
            .arg(&found)
            .arg(&seeds)
            .arg("--")
            .arg(format!("-max_total_time={secs}"))
            // A single input taking seconds is a hang worth failing on.
            .arg("-timeout=10");
        let log = scratch.join(format!("{target}.log"));
        let limit = Duration::from_secs(secs) + RUN_GRACE;
        let (ok, output) = run_logged(run, &log, limit);
        let artifact = output
            .lines()
            .find_map(|line| line.split("Test unit written to ").nth(1))
            .map(|path| fuzz_dir().join(path.trim()));
        assert!(
            ok,
            "fuzz target {target} failed; input: {}\nreproduce: cd fuzz && RUSTC_BOOTSTRAP=1 \
             cargo fuzz run {} {target} <input>\n{}",
            artifact.map_or("(none saved)".into(), |p| p.display().to_string()),
            BUILD_FLAGS.join(" "),
            tail(&output, 40)
        );
        let summary = output
            .lines()
            .rev()
            .find(|line| line.starts_with("Done "))
            .unwrap_or("(no summary)");
        eprintln!("fuzzing: {target}: {summary}");
    }
    eprintln!(
        "fuzzing: {} targets, {secs} s each, all done {:?} after the start",
        targets.len(),
        started.elapsed()
    );
    let _ = std::fs::remove_dir_all(&scratch);
}
