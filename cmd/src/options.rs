//! The setting options: the command line's names for the library's keys.
//! What they mean and whether a value is good is decided by the library's
//! own settings code (`crate::settings`, compiled in), never here.

use clap::Args;

/// The setting options: each sets the SOCKFIX_ variable named after it.
/// Shared by running a command, `config` and `systemd`.
#[derive(Args, Debug, Default, Clone)]
#[command(next_help_heading = "Settings")]
pub struct SettingArgs {
    /// Keepalive timers and probe count, e.g. 7,1,3 (a field may be empty); or on / off
    #[arg(long, value_name = "IDLE,INTVL,CNT")]
    pub keepalive: Option<String>,
    /// TCP_USER_TIMEOUT (SOCKFIX_USER_TIMEOUT)
    #[arg(long, value_name = "DUR|auto")]
    pub user_timeout: Option<String>,
    /// Give up a connect() after DUR (SOCKFIX_CONNECT_TIMEOUT)
    #[arg(long, value_name = "DUR")]
    pub connect_timeout: Option<String>,
    /// SO_LINGER on outgoing connections (SOCKFIX_LINGER)
    #[arg(long, value_name = "DUR|off")]
    pub linger: Option<String>,
    /// Source addresses, used in turn (SOCKFIX_BIND)
    #[arg(long, value_name = "ADDR[,ADDR...]")]
    pub bind: Option<String>,
    /// Source-port range (SOCKFIX_PORTS)
    #[arg(long, value_name = "LOW-HIGH")]
    pub ports: Option<String>,
    /// Connections to act on: *, CIDR, CIDR:PORT, :PORT (SOCKFIX_DEST)
    #[arg(long, value_name = "LIST")]
    pub dest: Option<String>,
    /// Check the peer before writing on a connection idle this long (SOCKFIX_IDLE_CHECK)
    #[arg(long, value_name = "DUR|off")]
    pub idle_check: Option<String>,
    /// Where the library logs (SOCKFIX_LOG)
    #[arg(long, value_name = "off|stderr|syslog|FILE")]
    pub log: Option<String>,
    /// Resume reads interrupted by signals from outside (SOCKFIX_EINTR)
    #[arg(long, value_name = "on|off")]
    pub eintr: Option<String>,
    /// The same as --eintr off
    #[arg(long)]
    pub no_eintr: bool,
    /// Signals that still interrupt (SOCKFIX_EINTR_PASS)
    #[arg(long, value_name = "SIGNALS")]
    pub eintr_pass: Option<String>,
    /// Also act on accepted connections (SOCKFIX_SERVER)
    #[arg(long)]
    pub server: bool,
    /// Act only inside these programs (SOCKFIX_PROGRAMS)
    #[arg(long, value_name = "NAMES")]
    pub programs: Option<String>,
    /// Never act inside these programs (SOCKFIX_SKIP_PROGRAMS)
    #[arg(long, value_name = "NAMES")]
    pub skip_programs: Option<String>,
    /// The config file (SOCKFIX_CONFIG)
    #[arg(long, value_name = "FILE")]
    pub config: Option<String>,
    /// Any other setting (SOCKFIX_ prefix optional)
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

/// `--force` (SOCKFIX_FORCE=on): the settings win over options the program
/// set itself before connecting. For running a command and `config`; under
/// `systemd`, `--force` keeps its own meaning (replace a drop-in sockfix did
/// not write), and `--set FORCE=on` puts the setting in the drop-in.
#[derive(Args, Debug, Default, Clone)]
pub struct ForceArg {
    /// The settings win over options the program set before connecting (SOCKFIX_FORCE)
    #[arg(long)]
    pub force: bool,
}

impl ForceArg {
    /// Adds SOCKFIX_FORCE=on to `env` when --force was given.
    pub fn add_to(&self, env: &mut Vec<(String, String)>) {
        if self.force {
            env.push(("SOCKFIX_FORCE".into(), "on".into()));
        }
    }
}

impl SettingArgs {
    /// The variables the options stand for, in order: (KEY, VALUE). Err: a
    /// usage error (the value's shape is wrong before the library's parser
    /// even looks at it).
    pub fn to_env(&self) -> Result<Vec<(String, String)>, String> {
        let mut out = Vec::new();
        let mut put = |k: &str, v: &str| -> Result<(), String> {
            if v.contains('\n') {
                return Err(format!("{k}: a value cannot contain a newline"));
            }
            out.push((k.to_string(), v.to_string()));
            Ok(())
        };
        if let Some(v) = &self.keepalive {
            if matches!(v.to_ascii_lowercase().as_str(), "on" | "off" | "yes" | "no" | "true" | "false" | "1" | "0") {
                put("SOCKFIX_KEEPALIVE", v)?;
            } else {
                let fields: Vec<&str> = v.split(',').collect();
                if fields.len() > 3 || v.is_empty() || fields.iter().all(|f| f.is_empty()) {
                    return Err(format!(
                        "--keepalive {v}: expected IDLE,INTVL,CNT (e.g. 7,1,3; a field may be empty), on or off"
                    ));
                }
                put("SOCKFIX_KEEPALIVE", "on")?;
                for (key, f) in ["SOCKFIX_KEEPIDLE", "SOCKFIX_KEEPINTVL", "SOCKFIX_KEEPCNT"].iter().zip(&fields) {
                    if !f.is_empty() {
                        put(key, f)?;
                    }
                }
            }
        }
        let simple = [
            ("SOCKFIX_USER_TIMEOUT", &self.user_timeout),
            ("SOCKFIX_CONNECT_TIMEOUT", &self.connect_timeout),
            ("SOCKFIX_LINGER", &self.linger),
            ("SOCKFIX_BIND", &self.bind),
            ("SOCKFIX_PORTS", &self.ports),
            ("SOCKFIX_DEST", &self.dest),
            ("SOCKFIX_IDLE_CHECK", &self.idle_check),
            ("SOCKFIX_LOG", &self.log),
            ("SOCKFIX_EINTR", &self.eintr),
            ("SOCKFIX_EINTR_PASS", &self.eintr_pass),
            ("SOCKFIX_PROGRAMS", &self.programs),
            ("SOCKFIX_SKIP_PROGRAMS", &self.skip_programs),
            ("SOCKFIX_CONFIG", &self.config),
        ];
        for (key, value) in simple {
            if let Some(v) = value {
                put(key, v)?;
            }
        }
        if self.no_eintr {
            put("SOCKFIX_EINTR", "off")?;
        }
        if self.server {
            put("SOCKFIX_SERVER", "on")?;
        }
        for kv in &self.set {
            let (k, v) = kv.split_once('=').ok_or_else(|| format!("--set {kv}: expected KEY=VALUE (e.g. --set KEEPIDLE=30s)"))?;
            if k.is_empty()
                || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                || k.starts_with(|c: char| c.is_ascii_digit())
            {
                return Err(format!("--set {kv}: bad key '{k}'"));
            }
            let k = k.to_ascii_uppercase();
            let k = if k.starts_with("SOCKFIX_") { k } else { format!("SOCKFIX_{k}") };
            if k == "SOCKFIX_LIBRARY" {
                return Err("--set: SOCKFIX_LIBRARY is not a setting (use --library)".into());
            }
            put(&k, v)?;
        }
        Ok(out)
    }
}
