//! `sockfix config [OPTIONS]`: the settings the library would use in a
//! program started here and now, one `KEY=VALUE  # SOURCE` line each, worked
//! out in this process by the library's own settings code (`check`, over
//! `crate::settings`): what is shown is what the library does.

use crate::check::{self, Judged};
use crate::cli::USAGE_ERROR;
use crate::options::{ForceArg, SettingArgs};
use crate::settings::{self, describe};
use std::path::Path;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct ConfigArgs {
    #[command(flatten)]
    pub settings: SettingArgs,
    #[command(flatten)]
    pub force: ForceArg,
}

pub fn run(args: ConfigArgs, _library: Option<&Path>) -> ExitCode {
    let mut options = match args.settings.to_env() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("sockfix config: {e} (see 'sockfix config --help')");
            return ExitCode::from(USAGE_ERROR);
        }
    };
    args.force.add_to(&mut options);
    let judged = check::judge(&options);
    for line in lines(&judged).iter().chain(&crate::bpf::config_note(&judged)) {
        println!("{line}");
    }
    // Every problem on stderr too: an unknown key or a bad line of the
    // file has no line of its own above.
    for p in &judged.problems {
        eprintln!("sockfix config: {}", p.with_outcome());
    }
    if judged.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// The output: a line saying which config file, then the library's
/// description, KEY=VALUE padded to one column, then `# SOURCE`; where the
/// value given was refused, `# KEY=VALUE (ORIGIN) refused: WHY; using USED`.
fn lines(j: &Judged) -> Vec<String> {
    let file = match (j.config_named_by, j.config_read) {
        (None, true) => format!("# config file: {} (the default)", j.config_path),
        (None, false) if Path::new(&j.config_path).exists() => {
            format!("# config file: none ({} cannot be read)", j.config_path)
        }
        (None, false) => format!("# config file: none ({} does not exist)", j.config_path),
        (Some(by), true) => format!("# config file: {} (from the {by}, SOCKFIX_CONFIG)", j.config_path),
        (Some(by), false) => format!("# config file: none ({} from the {by} cannot be read)", j.config_path),
    };
    let described = describe::describe(&j.layers, &j.settings);
    let width = described.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
    let mut out = vec![file];
    for (line, source) in &described {
        if source.is_empty() {
            // A [dest] section's lines: the section says where they are from.
            out.push(line.clone());
            continue;
        }
        let key = line.split('=').next().unwrap_or_default();
        let refused = j.problems.iter().find(|p| p.key.as_deref().is_some_and(|k| same_key(k, key)) && is_global(&p.origin));
        let comment = match refused {
            Some(p) if p.outcome.is_empty() => format!("{} ({}) refused: {}", p.subject, p.origin, p.why),
            Some(p) => format!("{} ({}) refused: {}; {}", p.subject, p.origin, p.why, p.outcome),
            None => source.clone(),
        };
        out.push(format!("{line:width$}  # {comment}"));
    }
    out
}

/// `KEY` as set (maybe libkeepalive's name) is the line's `SOCKFIX_KEY`.
fn same_key(set: &str, line_key: &str) -> bool {
    set == line_key || (settings::LEGACY_KEYS.contains(&set) && line_key.strip_prefix("SOCKFIX_") == Some(set))
}

/// Whether a problem is of a global setting (not of a [dest] section's line).
fn is_global(origin: &str) -> bool {
    !origin.contains(", line ")
}
