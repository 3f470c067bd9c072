//! Trial loads: the library preloaded into fresh processes, as
//! /etc/ld.so.preload would put it into every program, before (and after)
//! the file is written. Each process runs with an empty environment (a
//! fixed PATH), in a process group of its own, and is killed with its
//! children when it outlives its time.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// PATH for the trial programs: the standard directories, nothing the
/// caller's environment adds.
pub const SAFE_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// What a bounded run gave: exit status (None: killed by a signal), stdout,
/// stderr.
pub struct Ran {
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// How a bounded run failed to give a status.
pub enum RunError {
    /// The program could not be started at all (exec failed): the error.
    Spawn(std::io::Error),
    /// Still running after the time given (seconds): killed.
    Timeout(u64),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Spawn(e) => write!(f, "{}", strerror(e)),
            RunError::Timeout(s) => write!(f, "still running after {s} s: killed"),
        }
    }
}

/// An I/O error's text without Rust's " (os error N)" tail.
pub fn strerror(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// Runs `cmd` (its environment already cleared by the caller) with no
/// stdin, stdout and stderr captured, for at most `secs` seconds; then its
/// whole process group is killed (SIGKILL) so that no child is left behind.
pub fn run_bounded(cmd: &mut Command, secs: u64) -> Result<Ran, RunError> {
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
    let mut child = cmd.spawn().map_err(RunError::Spawn)?;
    let mut out = child.stdout.take().expect("piped stdout");
    let mut err = child.stderr.take().expect("piped stderr");
    // Both pipes drain at once: a program filling one while we wait on the
    // other would never finish.
    let out_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let err_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let pid = child.id() as libc::pid_t;
    let deadline = Instant::now() + Duration::from_secs(secs);
    // Wait for the exit without reaping it (WNOWAIT): while the program is
    // a zombie its process id, and so its group's, cannot be reused, and
    // the group can be killed safely: a child it left holding the pipes
    // would otherwise hold the readers for ever.
    let exited = loop {
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        let r = unsafe { libc::waitid(libc::P_PID, pid as libc::id_t, &mut info, libc::WEXITED | libc::WNOHANG | libc::WNOWAIT) };
        if r == 0 && unsafe { info.si_pid() } == pid {
            break true;
        }
        if r != 0 || Instant::now() >= deadline {
            break false;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    unsafe { libc::kill(-pid, libc::SIGKILL) };
    let status = child.wait();
    if !exited {
        let _ = out_reader.join();
        let _ = err_reader.join();
        return Err(RunError::Timeout(secs));
    }
    let status = status.map_err(RunError::Spawn)?;
    let stdout = out_reader.join().unwrap_or_default();
    let stderr = err_reader.join().unwrap_or_default();
    Ok(Ran { code: status.code(), stdout, stderr })
}

/// A fresh process's command: empty environment but PATH, and
/// LD_PRELOAD=`entry` unless `entry` is empty (then only the global
/// /etc/ld.so.preload can give it the library).
fn fresh(program: &str, entry: &str) -> Command {
    let mut c = Command::new(program);
    c.env_clear().env("PATH", SAFE_PATH);
    if !entry.is_empty() {
        c.env("LD_PRELOAD", entry);
    }
    c
}

/// The first 'n' bytes of a program's output, as text, for messages.
pub fn head(bytes: &[u8], n: usize) -> String {
    String::from_utf8_lossy(&bytes[..bytes.len().min(n)]).trim_end_matches('\n').to_string()
}

/// The first mapping in a /proc/PID/maps text whose file name is a sockfix
/// library (libsockfix*.so).
pub fn mapped_sockfix(maps: &str) -> Option<String> {
    maps.lines().filter_map(|l| l.split_whitespace().nth(5)).find(|p| super::file::is_sockfix_token(p)).map(String::from)
}

/// Whether two paths name the same file (test -ef: same device and inode).
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

/// Loads `entry` (empty: through /etc/ld.so.preload alone) into fresh
/// processes and checks that the library is mapped (and is the file
/// `expect`, when given), that they run and exit with their own status, and
/// that they print exactly what they print without it, nothing on stderr.
/// Ok: the path the library was mapped from. Err: what went wrong, for
/// people.
pub fn trial_load(entry: &str, expect: Option<&Path>) -> Result<String, String> {
    // cat shows its own mappings: whether the loader put the library in.
    let ran = run_bounded(fresh("cat", entry).arg("/proc/self/maps"), 20)
        .map_err(|e| format!("a test program (cat) with it preloaded could not run: {e}"))?;
    let mapped = mapped_sockfix(&String::from_utf8_lossy(&ran.stdout));
    match ran.code {
        Some(0) => {}
        code => {
            let status = code.map_or("killed by a signal".to_string(), |c| format!("exit status {c}"));
            return Err(format!("a test program (cat) with it preloaded failed ({status}): {}", head(&ran.stderr, 400)));
        }
    }
    if !ran.stderr.is_empty() {
        return Err(format!("a test program printed on stderr with it preloaded: {}", head(&ran.stderr, 400)));
    }
    let Some(mapped) = mapped else {
        return Err("the library was not loaded into a test program".into());
    };
    if let Some(want) = expect {
        if !same_file(Path::new(&mapped), want) {
            return Err(format!("{entry} loaded {mapped}, not {}", want.display()));
        }
    }
    // Output untouched, exit status kept, a shell and its children work.
    let script = "echo sockfix-trial; ls / >/dev/null; exit 3";
    let ran = run_bounded(fresh("sh", entry).args(["-c", script]), 20);
    let ok = matches!(&ran, Ok(r) if r.code == Some(3) && r.stdout == b"sockfix-trial\n" && r.stderr.is_empty());
    if !ok {
        let what = match ran {
            Ok(r) => format!(
                "exit {}, output '{}', stderr '{}'",
                r.code.map_or("by a signal".into(), |c| c.to_string()),
                head(&r.stdout, 100),
                head(&r.stderr, 300)
            ),
            Err(e) => e.to_string(),
        };
        return Err(format!("a test shell with it preloaded misbehaved ({what})"));
    }
    Ok(mapped)
}
