//! Stamps the binary with the git commit it was built from and the build date, for the
//! version string the operations surface reports (`admin::report::VERSION`).
//!
//! Outside a git checkout (a source tarball, a vendored copy) the commit is left out, or
//! taken from `FERROKEEPER_GIT_REVISION` when the packager sets it. `SOURCE_DATE_EPOCH`
//! (reproducible builds) fixes the date.
//!
//! The script reruns only when HEAD moves (`.git/HEAD` and the ref it names), so a
//! build between two commits does not recompile the crate for a new date.

use std::path::PathBuf;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

// The server's own calendar arithmetic (`civil_from_days`).
#[allow(dead_code)]
#[path = "src/time.rs"]
mod time;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=FERROKEEPER_GIT_REVISION");
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    let revision = std::env::var("FERROKEEPER_GIT_REVISION")
        .ok()
        .filter(|r| !r.is_empty())
        .or_else(git_revision);
    // ZooKeeper's `<version>-<revision>`: the commit only when there is one.
    let suffix = revision.map(|r| format!("-{r}")).unwrap_or_default();
    println!("cargo:rustc-env=FERROKEEPER_GIT_REVISION={suffix}");
    println!("cargo:rustc-env=FERROKEEPER_BUILD_DATE={}", build_date());
}

/// `git` in this crate's directory, trimmed stdout if it succeeded.
fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git").args(args).output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// The commit checked out, if this crate's sources are tracked by it (a copy unpacked
/// inside some other repository must not report that repository's commit). Watches
/// HEAD and the branch ref so the next commit reruns the script.
fn git_revision() -> Option<String> {
    git(&["ls-files", "--error-unmatch", "Cargo.toml"])?;
    let sha = git(&["rev-parse", "HEAD"])?;
    let mut watched = vec!["HEAD".to_owned()];
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        // A packed ref has no file of its own: packed-refs changes instead.
        watched.push(branch);
        watched.push("packed-refs".to_owned());
    }
    for name in watched {
        if let Some(path) = git(&["rev-parse", "--git-path", &name]).map(PathBuf::from) {
            // A path that does not exist would make cargo rerun the script every build.
            if path.exists() {
                let path = std::fs::canonicalize(&path).unwrap_or(path);
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
    }
    Some(sha)
}

/// `yyyy-MM-dd HH:mm UTC`, the format of ZooKeeper's build date.
fn build_date() -> String {
    let secs = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64)
        });
    let (year, month, day) = time::civil_from_days(secs.div_euclid(86_400));
    let minute_of_day = secs.rem_euclid(86_400) / 60;
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        minute_of_day / 60,
        minute_of_day % 60
    )
}
