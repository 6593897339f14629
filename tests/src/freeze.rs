//! One thread of a running server stopped and resumed, the rest of the process going
//! on: the log writer (`ferrokeeper-log`) frozen stands for a disk whose fsync hangs,
//! so a test can watch what piles up behind it. Uses ptrace (the tests run as root, or
//! at least as the server's parent).

use std::io::Error;
use std::ptr::null_mut;

/// The log writer thread's name (`storage`'s group commit).
pub const LOG_WRITER: &str = "ferrokeeper-log";

/// A thread held stopped until dropped. ptrace lets only the thread that stopped it
/// resume it, so drop it on the thread that froze it (not across an `.await`).
pub struct FrozenThread {
    tid: libc::pid_t,
}

impl FrozenThread {
    /// Stops the one thread of process `pid` named `name`.
    pub fn freeze(pid: u32, name: &str) -> FrozenThread {
        let tid = thread_named(pid, name);
        ptrace(libc::PTRACE_SEIZE, tid).unwrap_or_else(|e| panic!("PTRACE_SEIZE {name}: {e}"));
        ptrace(libc::PTRACE_INTERRUPT, tid)
            .unwrap_or_else(|e| panic!("PTRACE_INTERRUPT {name}: {e}"));
        let mut status = 0;
        // SAFETY: waitpid writes only `status`.
        let waited = unsafe { libc::waitpid(tid, &mut status, libc::__WALL) };
        assert_eq!(waited, tid, "waitpid {name}: {}", Error::last_os_error());
        assert!(libc::WIFSTOPPED(status), "{name} did not stop: {status:#x}");
        FrozenThread { tid }
    }
}

impl Drop for FrozenThread {
    fn drop(&mut self) {
        // The thread resumes where it was stopped.
        let detached = ptrace(libc::PTRACE_DETACH, self.tid);
        if let (Err(e), false) = (detached, std::thread::panicking()) {
            panic!("PTRACE_DETACH: {e}");
        }
    }
}

/// A ptrace request that takes no address and no data.
fn ptrace(request: libc::c_uint, tid: libc::pid_t) -> Result<(), Error> {
    let none = null_mut::<libc::c_void>();
    // SAFETY: these requests read and write no memory of this process.
    match unsafe { libc::ptrace(request, tid, none, none) } {
        0 => Ok(()),
        _ => Err(Error::last_os_error()),
    }
}

/// The id of the only thread of `pid` whose `comm` is `name`.
fn thread_named(pid: u32, name: &str) -> libc::pid_t {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("/proc/<pid>/task");
    let named: Vec<libc::pid_t> = tasks
        .filter_map(|task| {
            let task = task.ok()?;
            let comm = std::fs::read_to_string(task.path().join("comm")).ok()?;
            (comm.trim_end() == name).then(|| task.file_name().to_str()?.parse().ok())?
        })
        .collect();
    match named[..] {
        [tid] => tid,
        _ => panic!("process {pid} has {} threads named {name}", named.len()),
    }
}
