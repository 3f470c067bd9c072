//! `sockfix preload enable|disable|status`: the global install, through
//! /etc/ld.so.preload. Exit status 0 on success, 1 on failure (and for
//! status: 1 disabled, 2 broken, 3 an ABI without its library), 2 on a usage
//! error (clap). Helpers: `file` (the file's format, checks, lock),
//! `atomic` (replacing it), `state` (what disable puts back),
//! `trial` (fresh processes with the library), `abi` (every ABI's loader).

mod abi;
pub(crate) mod atomic;
pub mod file;
mod state;
mod trial;

use crate::library;
use file::{self as pf, PRELOAD_FILE};
use state::{old_state, Standing, State};
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::ExitCode;
use trial::trial_load;

#[derive(clap::Args, Debug)]
pub struct PreloadArgs {
    /// enable, disable or status
    #[arg(value_enum)]
    action: Action,
    /// Enable even though programs of an ABI without its library will print
    /// the loader's "cannot be preloaded" line at every start
    #[arg(long)]
    allow_missing_abi: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    Enable,
    Disable,
    Status,
}

/// The global settings file, reported by status.
const CONF: &str = "/etc/sockfix.conf";

/// Exit status for a failure.
const ERR: u8 = 1;
/// Exit status for a usage error (as clap's).
const USAGE_ERR: u8 = 2;

fn warn(msg: &str) {
    eprintln!("sockfix: {msg}");
}

/// A failure: the message, and the exit status 1.
fn die(msg: &str) -> ExitCode {
    warn(msg);
    ExitCode::from(ERR)
}

pub fn run(args: PreloadArgs, library: Option<&Path>) -> ExitCode {
    if args.allow_missing_abi && args.action != Action::Enable {
        warn("preload: --allow-missing-abi goes with enable");
        warn("see 'sockfix --help'");
        return ExitCode::from(USAGE_ERR);
    }
    // Files this command creates are for everybody to read, whatever the
    // caller's umask (atomic writes set their mode themselves).
    unsafe { libc::umask(0o022) };
    let file = Path::new(PRELOAD_FILE);
    match args.action {
        Action::Enable => enable(file, library, args.allow_missing_abi),
        Action::Disable => disable(file),
        Action::Status => status(file),
    }
}

fn enable(file: &Path, library: Option<&Path>, allow_missing_abi: bool) -> ExitCode {
    let f = file.display();
    let lib = match library::find(library) {
        Ok(l) => l,
        Err(e) => return die(&e),
    };
    let triplet = library::multiarch();
    let entry = pf::entry_for(&lib, &triplet);
    if let Err(e) = pf::check_writable(file) {
        return die(&e);
    }
    let _lock = match pf::lock() {
        Ok(l) => l,
        Err(e) => return die(&e),
    };
    for tok in pf::file_tokens(file) {
        if tok == entry {
            println!("already enabled: {f} has {entry}");
            return ExitCode::SUCCESS;
        }
        if pf::is_sockfix_token(&tok) {
            return die(&format!("{f} already loads another sockfix library, {tok}; run 'sockfix preload disable' first"));
        }
    }

    // The library itself: a shared object, root's, in root's directories,
    // and well behaved in fresh processes.
    let l = lib.display();
    if abi::elf_abi(&lib).is_none() {
        return die(&format!("refusing to preload {l}: it is not an ELF file ({f} left unchanged)"));
    }
    if let Err(why) = pf::safe_path(&lib) {
        return die(&format!("refusing to preload {l} into every process: {why}"));
    }
    if let Err(e) = trial_load(&entry, Some(&lib)) {
        return die(&format!("refusing to enable: {entry} fails its trial load: {e} ({f} left unchanged)"));
    }
    let report = abi::check(&entry, &triplet);
    if let Some(code) = refuse_for_abis(&report, &entry, file, allow_missing_abi) {
        return code;
    }

    // Write: first what disable needs, then the file.
    let before = fs::read(file).ok().and_then(|b| Some((b, fs::metadata(file).ok()?)));
    let new = pf::with_entry(before.as_ref().map_or(&[][..], |(b, _)| b), &entry);
    if let Err(e) = State::save(file, before.as_ref().map(|(b, m)| (&b[..], m)), &new) {
        return die(&format!("cannot save what 'sockfix preload disable' needs: {e} ({f} left unchanged)"));
    }
    if let Err(e) = atomic::write(file, &new, before.as_ref().map(|(_, m)| m)) {
        let _ = State::clear(file);
        return die(&e);
    }

    // The real thing: a fresh process, nothing in its environment. Should
    // it not come up, put the file back at once.
    let mapped = match trial_load("", Some(&lib)) {
        Ok(m) => m,
        Err(e) => {
            warn(&format!("after writing {f} a new process does not start cleanly: {e}; putting it back"));
            if let Err(e) = restore_or_strip(file) {
                warn(&e);
            }
            return ExitCode::from(ERR);
        }
    };
    println!("enabled: {f} loads {entry} ({mapped}) into every program started from now on");
    for line in &report.lines {
        println!("{line}");
    }
    println!("settings: {CONF} (see sockfix.conf(5)); running programs are unchanged until restarted");
    println!("undo: sockfix preload disable");
    ExitCode::SUCCESS
}

/// Every program loader on the host must find a library of its own ABI at
/// the entry, or its programs print the loader's "cannot be preloaded" line
/// on stderr at every start. Some(exit status): refused (nothing written),
/// unless --allow-missing-abi accepts that line on those programs; a library
/// of another ABI that others could replace is refused in any case (it would
/// run inside their setuid programs).
fn refuse_for_abis(r: &abi::Report, entry: &str, file: &Path, allow: bool) -> Option<ExitCode> {
    let f = file.display();
    if !r.unsafe_libs.is_empty() {
        return Some(die(&format!("refusing to preload into every process: {} ({f} left unchanged)", r.unsafe_libs.join(" "))));
    }
    if r.missing.is_empty() {
        return None;
    }
    let abis = r.missing.join(" ");
    if allow {
        warn(&format!(
            "--allow-missing-abi: programs of the ABI(s) {abis} will print the loader's 'cannot be preloaded' line on their stderr at every start (and get no sockfix)"
        ));
        return None;
    }
    warn(&format!("refusing to enable: programs of the ABI(s) {abis} would print on their stderr, at every start,"));
    warn(&format!("  ERROR: ld.so: object '{entry}' from {f} cannot be preloaded (...): ignored."));
    for l in &r.lines {
        warn(&format!("  {l}"));
    }
    warn("either build and install the library for each of them where its loader looks:");
    for l in &r.fixes {
        warn(&format!("  {l}"));
    }
    warn("or accept that line on those programs: sockfix preload enable --allow-missing-abi");
    warn(&format!("{f} left unchanged"));
    Some(ExitCode::from(ERR))
}

/// Puts the file back as it was before enable when nobody changed it since;
/// otherwise takes out only the sockfix entries, and keeps the rest as it
/// is now. Ok: what it did, for people. The state goes in both cases.
fn restore_or_strip(file: &Path) -> Result<String, String> {
    let f = file.display();
    let state = State::load(file);
    let now = fs::read(file).map_err(|e| format!("cannot read {f}: {e}"))?;
    let standing = state.standing(Some(&now));
    let did = if standing == Standing::Current {
        match &state.orig {
            None => {
                pf::remove(file)?;
                format!("removed {f} (sockfix preload enable had created it)")
            }
            Some((bytes, meta)) => {
                atomic::write(file, bytes, Some(meta))?;
                format!("restored {f} as it was before 'sockfix preload enable'")
            }
        }
    } else {
        let new = pf::strip_sockfix(&now);
        // Stale state is never trusted, not even to say that enable had
        // created the file.
        let created = state.created_file() && !matches!(standing, Standing::Stale(_));
        if new.is_empty() && created {
            pf::remove(file)?;
            format!("removed {f} (sockfix preload enable had created it)")
        } else {
            let meta = fs::metadata(file).map_err(|e| format!("cannot read {f}: {e}"))?;
            atomic::write(file, &new, Some(&meta))?;
            format!(
                "took the sockfix entry out of {f} (it was changed after 'sockfix preload enable': the rest is kept as it is now)"
            )
        }
    };
    State::clear(file)?;
    Ok(did)
}

fn disable(file: &Path) -> ExitCode {
    if let Err(e) = pf::check_writable(file) {
        return die(&e);
    }
    let _lock = match pf::lock() {
        Ok(l) => l,
        Err(e) => return die(&e),
    };
    if !pf::file_tokens(file).iter().any(|t| pf::is_sockfix_token(t)) {
        // State without an entry is stale: it goes.
        if let Err(e) = State::clear(file) {
            return die(&e);
        }
        println!("not enabled: {} has no sockfix entry", file.display());
        return ExitCode::SUCCESS;
    }
    match restore_or_strip(file) {
        Ok(did) => println!("{did}"),
        Err(e) => return die(&e),
    }
    println!("new programs no longer load libsockfix.so; running ones keep it until they exit ('sockfix status' lists them)");
    ExitCode::SUCCESS
}

fn status(file: &Path) -> ExitCode {
    let f = file.display();
    let entries: Vec<String> = pf::file_tokens(file).into_iter().filter(|t| pf::is_sockfix_token(t)).collect();
    let mut rc = 0u8;
    if entries.is_empty() {
        println!("disabled: {f} has no sockfix entry");
        rc = 1;
    } else {
        for tok in &entries {
            match trial_load(tok, None) {
                Ok(mapped) => println!("enabled: {f} has {tok}, which loads {mapped}"),
                Err(e) => {
                    println!("BROKEN: {f} has {tok}, but {e}");
                    rc = 2;
                }
            }
        }
        if rc == 0 {
            if let Err(e) = trial_load("", None) {
                println!("BROKEN: a new process does not get the library: {e}");
                rc = 2;
            }
        }
        // Each ABI's programs: the library of their own ABI, or the
        // loader's line on their stderr.
        let triplet = library::multiarch();
        for tok in &entries {
            let r = abi::check(tok, &triplet);
            for l in &r.lines {
                println!("{l}");
            }
            if !r.missing.is_empty() {
                println!(
                    "MISSING ABI: programs of {} print the loader's 'cannot be preloaded' line on stderr at every start",
                    r.missing.join(" ")
                );
                if rc == 0 {
                    rc = 3;
                }
            }
        }
    }
    print_state(file, !entries.is_empty());
    print_conf();
    ExitCode::from(rc)
}

/// The state disable would use, and whether it is stale.
fn print_state(file: &Path, enabled: bool) {
    let f = file.display();
    let state = State::load(file);
    let orig = state::orig_path(file);
    match state.standing(fs::read(file).ok().as_deref()) {
        Standing::None if enabled => println!("state: no saved copy beside {f}: disable takes out only the sockfix entry"),
        Standing::None => {}
        Standing::Current if state.created_file() => println!("state: enable created {f}: disable removes it"),
        Standing::Current => println!("state: {} is the file before enable: disable puts it back byte for byte", orig.display()),
        Standing::Edited => println!("state: {f} was changed after enable: disable takes out only the sockfix entry"),
        Standing::Stale(why) => {
            let files: Vec<String> =
                [orig, state::ours_path(file)].iter().filter(|p| p.exists()).map(|p| p.display().to_string()).collect();
            println!(
                "STALE STATE: {} {} not match {f} ({why}); not used: 'sockfix preload disable' removes {}",
                files.join(" and "),
                if files.len() == 1 { "does" } else { "do" },
                if files.len() == 1 { "it" } else { "them" }
            );
        }
    }
    let old = old_state();
    if !old.is_empty() {
        println!("STALE STATE: {} left by an older sockfix, never used now: remove by hand", old.join(" "));
    }
}

/// Whether the settings file is safe for setuid programs: they ignore one
/// that is not root's or that others can write.
fn print_conf() {
    match fs::metadata(CONF) {
        Ok(m) => {
            let mode = m.mode() & 0o7777;
            if m.uid() != 0 || mode & 0o022 != 0 {
                println!(
                    "settings: {CONF} (uid {}, mode {mode:o}: setuid and setgid programs ignore it; it must be root's and writable by nobody else)",
                    m.uid()
                );
            } else {
                println!("settings: {CONF}");
            }
        }
        Err(_) => println!("settings: built-in defaults ({CONF} does not exist)"),
    }
}
