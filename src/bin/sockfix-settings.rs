//! sockfix-settings: the effective settings, as the library itself reads
//! them from this environment and the config file, with where each value
//! came from. `sockfix config` runs it. It compiles the library's own
//! `settings` and `matching` modules (and the raw syscalls they use) (the same source files, not a second
//! parser), and none of its hooks.
//!
//! Exit status: 0, or 1 when a value was refused (the warnings, on stderr,
//! say which and what is used instead), 2 on a usage error.

extern crate alloc;

#[path = "../matching.rs"]
#[allow(dead_code)]
mod matching;
#[path = "../settings/mod.rs"]
#[allow(dead_code)]
mod settings;
#[path = "../sockaddr.rs"]
#[allow(dead_code)]
mod sockaddr;
#[path = "../sys.rs"]
#[allow(dead_code)]
mod sys;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("usage: sockfix-settings\n\nPrints the effective sockfix settings for this environment and config\nfile (SOCKFIX_CONFIG, default /etc/sockfix.conf), one KEY=VALUE per line\nwith its source; exits 1 when a value is refused.");
        return;
    }
    if let Some(a) = args.first() {
        eprintln!("sockfix-settings: unexpected argument {a:?} (see --help)");
        std::process::exit(2);
    }
    let mut g = settings::gather();
    // Program scope is decided inside each program; here only the lists show.
    let s = settings::build(&g.layers, &g.sections, &Vec::new, &mut g.warnings);
    let lines = settings::describe::describe(&g.layers, &s);
    let width = lines.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
    for (line, source) in &lines {
        if source.is_empty() {
            println!("{line}");
        } else {
            println!("{line:width$}  # {source}");
        }
    }
    if g.secure {
        println!("# secure execution: the environment is ignored");
    }
    for w in &g.warnings {
        eprintln!("sockfix: {w}");
    }
    if !g.warnings.is_empty() {
        std::process::exit(1);
    }
}
