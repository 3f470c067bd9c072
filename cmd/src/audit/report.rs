//! The audit's output: a table that fits 100 columns (one line per
//! connection, a second line with the reason when it is not protected, or
//! naming the eBPF companion when that protects it),
//! notes on what could not be seen, and a one-line summary; or one JSON
//! document with the same facts (`--json`).

use super::sockets::{Established, Pending};
use super::sockopt::Options;
use super::verdict::{self, span, Status, Verdict};
use serde_json::{json, Value};

/// Everything known about one connection.
pub struct Row {
    /// The network namespace's inode.
    pub netns: u64,
    /// Processes holding the socket, lowest pid first.
    pub pids: Vec<i32>,
    /// The first holder's command name.
    pub name: Option<String>,
    pub conn: Established,
    pub accepted: bool,
    pub opts: Option<Options>,
    /// The libsockfix.so mapped in the first holder (None: unknown).
    pub library: Option<Option<String>>,
    pub verdict: Verdict,
}

const WIDTH: usize = 100;
/// The summary stays one line (for logs and monitoring); its fixed words
/// alone take 90 columns, so it lists holders up to this width.
const SUMMARY_WIDTH: usize = 200;
const INDENT: usize = 8;

fn fit(text: &str, width: usize) -> String {
    let n = text.chars().count();
    if n <= width {
        return text.to_string();
    }
    // Keep both ends of an address: its start and its port matter most.
    let head = (width - 1) / 2;
    let tail = width - 1 - head;
    let chars: Vec<char> = text.chars().collect();
    format!("{}~{}", chars[..head].iter().collect::<String>(), chars[n - tail..].iter().collect::<String>())
}

fn keepalive_text(r: &Row) -> String {
    let ka = verdict::keepalive(&r.conn, r.opts.as_ref());
    match (ka.on, ka.idle_s) {
        (Some(false), _) => "off".into(),
        (Some(true), Some(idle)) => format!("on {}", span(u64::from(idle))),
        (Some(true), None) => "on ?".into(),
        (None, _) => "?".into(),
    }
}

fn timer_text(t: Pending) -> String {
    match t {
        Pending::Keepalive(d) => span(d.as_secs()),
        Pending::Retransmit(_) => "rtx".into(),
        Pending::None => "-".into(),
    }
}

fn uto_text(o: Option<&Options>) -> String {
    match o.map(|o| o.user_timeout_ms) {
        None => "?".into(),
        Some(0) => "off".into(),
        Some(ms) if ms < 1000 => format!("{ms}ms"),
        Some(ms) => span(u64::from(ms / 1000)),
    }
}

fn lib_text(r: &Row) -> &'static str {
    match (&r.pids.is_empty(), &r.library) {
        (true, _) => "-",
        (_, Some(Some(_))) => "yes",
        (_, Some(None)) => "no",
        (_, None) => "?",
    }
}

/// Words wrapped at WIDTH, every line indented.
fn wrapped(text: &str) -> String {
    let mut out = String::new();
    let mut line = " ".repeat(INDENT);
    for word in text.split(' ') {
        if line.len() > INDENT && line.len() + 1 + word.len() > WIDTH {
            out.push_str(line.trim_end());
            out.push('\n');
            line = " ".repeat(INDENT + 2);
        }
        if line.len() > INDENT && !line.ends_with(' ') {
            line.push(' ');
        }
        line.push_str(word);
    }
    out.push_str(&line);
    out
}

/// The table, the notes and the summary line.
pub fn table(rows: &[Row], own_netns: u64, notes: &[String], summary: &str) -> String {
    let mut out = String::new();
    let header = format!(
        "{:<7} {:<15} {:<22} {:<22} {:<9} {:<7} {:<5} {}",
        "PID", "PROGRAM", "LOCAL", "PEER", "KEEPALIVE", "TIMER", "UTO", "LIB"
    );
    out.push_str(header.trim_end());
    out.push('\n');
    let several = rows.iter().any(|r| r.netns != own_netns);
    let mut last_ns = None;
    for r in rows {
        if several && last_ns != Some(r.netns) {
            let whose = if r.netns == own_netns { " (this command's)" } else { "" };
            out.push_str(&format!("-- network namespace net:[{}]{whose}\n", r.netns));
            last_ns = Some(r.netns);
        }
        let pid = match r.pids.as_slice() {
            [] => "-".to_string(),
            [p] => p.to_string(),
            [p, ..] => format!("{p}+"),
        };
        let line = format!(
            "{:<7} {:<15} {:<22} {:<22} {:<9} {:<7} {:<5} {}",
            fit(&pid, 7),
            fit(r.name.as_deref().unwrap_or("-"), 15),
            fit(&r.conn.local.to_string(), 22),
            fit(&r.conn.peer.to_string(), 22),
            keepalive_text(r),
            fit(&timer_text(r.conn.timer), 7),
            fit(&uto_text(r.opts.as_ref()), 5),
            lib_text(r),
        );
        out.push_str(&line);
        out.push('\n');
        if let Some(reason) = &r.verdict.reason {
            out.push_str(&wrapped(&format!("{}: {reason}", r.verdict.status.word())));
            out.push('\n');
        } else if let Some(cgroup) = &r.verdict.companion {
            // LIB says "no": who protects it must be said.
            out.push_str(&wrapped(&format!("protected by sockfix bpf: the eBPF companion on {cgroup}")));
            out.push('\n');
        }
    }
    for n in notes {
        out.push_str(&format!("note: {n}\n"));
    }
    out.push_str(summary);
    out.push('\n');
    out
}

/// The summary line: how many established connections would wait for the
/// kernel's 2 h keepalive or forever, and who holds them, most first.
pub fn summary(rows: &[Row]) -> String {
    let bad: Vec<&Row> = rows.iter().filter(|r| matches!(r.verdict.status, Status::Weak | Status::Unprotected)).collect();
    let unknown = rows.iter().filter(|r| r.verdict.status == Status::Unknown).count();
    let total = rows.len();
    let unknown_text = if unknown > 0 { format!("; {unknown} could not be checked") } else { String::new() };
    if total == 0 {
        return "no established TCP connections seen".into();
    }
    if bad.is_empty() {
        return format!(
            "none of {total} established connections would wait for the kernel's 2 h keepalive or forever{unknown_text}"
        );
    }
    let mut groups: Vec<(String, usize)> = Vec::new();
    for r in &bad {
        let key = format!("{} ({})", r.name.as_deref().unwrap_or("?"), r.verdict.label.unwrap_or("?"));
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some(g) => g.1 += 1,
            None => groups.push((key, 1)),
        }
    }
    groups.sort_by_key(|g| std::cmp::Reverse(g.1));
    let mut line =
        format!("{} of {total} established connections would wait for the kernel's 2 h keepalive or forever:", bad.len());
    // As many holders as fit in SUMMARY_WIDTH (at least one); the rest counted.
    for (i, (k, n)) in groups.iter().enumerate() {
        let part = if *n > 1 { format!("{k} x{n}") } else { k.clone() };
        let rest = groups.len() - i - 1;
        let more = if rest > 0 { format!(", and {rest} more") } else { String::new() };
        if i > 0 && line.len() + 2 + part.len() + more.len() + unknown_text.len() > SUMMARY_WIDTH {
            line.push_str(&format!(", and {} more", groups.len() - i));
            break;
        }
        line.push_str(if i == 0 { " " } else { ", " });
        line.push_str(&part);
    }
    line + &unknown_text
}

/// One connection as a JSON object.
fn row_json(r: &Row) -> Value {
    let ka = verdict::keepalive(&r.conn, r.opts.as_ref());
    let (timer, timer_ms) = match r.conn.timer {
        Pending::Keepalive(d) => (Some("keepalive"), Some(d.as_millis() as u64)),
        Pending::Retransmit(d) => (Some("retransmit"), Some(d.as_millis() as u64)),
        Pending::None => (None, None),
    };
    json!({
        "netns": r.netns,
        "pid": r.pids.first(),
        "pids": r.pids,
        "process": r.name,
        "local": r.conn.local.to_string(),
        "peer": r.conn.peer.to_string(),
        "uid": r.conn.uid,
        "inode": r.conn.inode,
        "accepted": r.accepted,
        "keepalive": ka.on,
        "keepidle_s": ka.idle_s,
        "keepintvl_s": r.opts.filter(|o| o.keepalive).map(|o| o.keepintvl_s),
        "keepcnt": r.opts.filter(|o| o.keepalive).map(|o| o.keepcnt),
        "timer": timer,
        "timer_ms": timer_ms,
        "user_timeout_ms": r.opts.map(|o| o.user_timeout_ms),
        "library": match &r.library { Some(Some(p)) => json!(p), Some(None) => json!(false), None => Value::Null },
        "status": r.verdict.status.word(),
        "reason": r.verdict.reason,
        "label": r.verdict.label,
        "covered_by": r.verdict.covered_by,
    })
}

/// The JSON document: {"connections": [...], "notes": [...], "summary": {...}}.
pub fn json(rows: &[Row], notes: &[String], summary: &str, failing: usize) -> String {
    let count = |s: Status| rows.iter().filter(|r| r.verdict.status == s).count();
    let doc = json!({
        "connections": rows.iter().map(row_json).collect::<Vec<_>>(),
        "notes": notes,
        "summary": {
            "text": summary,
            "established": rows.len(),
            "protected": count(Status::Protected),
            "weak": count(Status::Weak),
            "unprotected": count(Status::Unprotected),
            "unknown": count(Status::Unknown),
            "failing_dest": failing,
        },
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}
