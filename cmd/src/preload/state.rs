//! What `preload disable` needs to put /etc/ld.so.preload back byte for
//! byte, kept beside the file it protects:
//!   /etc/ld.so.preload.sockfix-orig  the file as it was before enable, with
//!                                    its owner and mode (none: enable
//!                                    created the file)
//!   /etc/ld.so.preload.sockfix-ours  what enable wrote (the mark that there
//!                                    is state at all)
//! Beside the file, not in /var/lib: whoever sees the file sees its state.
//! Tried in a private mount namespace with a copy of /etc over /etc (as
//! sockfix(1) advises), in a container or a chroot, the state goes with the
//! copy and is gone with it, instead of lying stale in the host's
//! /var/lib/sockfix (issue 10). dpkg keeps its own copies of /etc files
//! beside them the same way (.dpkg-old, .dpkg-dist).

use super::atomic;
use super::file::{is_sockfix_token, remove, tokens};
use std::fs::{self, Metadata};
use std::path::{Path, PathBuf};

/// Where an older sockfix kept this state (the host's /var/lib): only
/// reported, never used.
const OLD_STATE: [&str; 3] =
    ["/var/lib/sockfix/ld.so.preload.orig", "/var/lib/sockfix/ld.so.preload.absent", "/var/lib/sockfix/ld.so.preload.ours"];

/// The saved copy of the file before enable.
pub fn orig_path(file: &Path) -> PathBuf {
    PathBuf::from(format!("{}.sockfix-orig", file.display()))
}

/// What enable wrote.
pub fn ours_path(file: &Path) -> PathBuf {
    PathBuf::from(format!("{}.sockfix-ours", file.display()))
}

/// The state as found.
pub struct State {
    /// What enable wrote.
    pub ours: Option<Vec<u8>>,
    /// The file before enable, and its owner and mode.
    pub orig: Option<(Vec<u8>, Metadata)>,
}

/// What the state says about the file as it is now.
#[derive(PartialEq, Eq, Debug)]
pub enum Standing {
    /// No state.
    None,
    /// The file is as enable left it: disable puts it back byte for byte.
    Current,
    /// The file was edited since, but still has enable's entry: disable
    /// takes out only that entry.
    Edited,
    /// The state does not belong to the file as it is (why): a copy saved
    /// by an enable whose entry is gone, or for another entry, or half of
    /// one. Never used to put the file back.
    Stale(String),
}

impl State {
    /// Reads the state kept beside `file`.
    pub fn load(file: &Path) -> State {
        let orig = fs::read(orig_path(file)).ok().and_then(|b| Some((b, fs::metadata(orig_path(file)).ok()?)));
        State { ours: fs::read(ours_path(file)).ok(), orig }
    }

    /// The sockfix entry enable wrote, from its record.
    pub fn entry(&self) -> Option<String> {
        tokens(&String::from_utf8_lossy(self.ours.as_deref()?)).into_iter().rfind(|t| is_sockfix_token(t))
    }

    /// Whether enable created the file (there was none before).
    pub fn created_file(&self) -> bool {
        self.ours.is_some() && self.orig.is_none()
    }

    /// How the state stands to the file's present bytes (None: no file).
    pub fn standing(&self, now: Option<&[u8]>) -> Standing {
        if self.ours.is_none() && self.orig.is_none() {
            return Standing::None;
        }
        let Some(entry) = self.entry() else {
            return Standing::Stale("a saved copy without the record of what enable wrote".into());
        };
        let present: Vec<String> = now
            .map(|b| tokens(&String::from_utf8_lossy(b)))
            .unwrap_or_default()
            .into_iter()
            .filter(|t| is_sockfix_token(t))
            .collect();
        if present.is_empty() {
            return Standing::Stale(format!("saved by an enable of {entry}, but the file has no sockfix entry now"));
        }
        if !present.contains(&entry) {
            return Standing::Stale(format!("saved by an enable of {entry}, but the file has {} now", present.join(" ")));
        }
        if self.ours.as_deref() == now {
            Standing::Current
        } else {
            Standing::Edited
        }
    }

    /// Records the state of an enable: the file as it was (None: there was
    /// none) and what is about to be written. Any older state goes first, so
    /// that a half-written state is never a mix of two enables.
    pub fn save(file: &Path, before: Option<(&[u8], &Metadata)>, ours: &[u8]) -> Result<(), String> {
        Self::clear(file)?;
        if let Some((bytes, meta)) = before {
            atomic::write(&orig_path(file), bytes, Some(meta))?;
        }
        atomic::write(&ours_path(file), ours, None)
    }

    /// Removes the state.
    pub fn clear(file: &Path) -> Result<(), String> {
        remove(&ours_path(file))?;
        remove(&orig_path(file))
    }
}

/// The files an older sockfix left in /var/lib/sockfix, which this one
/// never reads.
pub fn old_state() -> Vec<&'static str> {
    OLD_STATE.into_iter().filter(|p| Path::new(p).exists()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(ours: &[u8]) -> State {
        State { ours: Some(ours.to_vec()), orig: None }
    }

    #[test]
    fn stale_or_not() {
        let s = state(b"/a.so\n/usr/$LIB/libsockfix.so\n");
        assert_eq!(s.standing(Some(b"/a.so\n/usr/$LIB/libsockfix.so\n")), Standing::Current);
        assert_eq!(s.standing(Some(b"/usr/$LIB/libsockfix.so\n/b.so\n")), Standing::Edited);
        assert!(matches!(s.standing(Some(b"/a.so\n")), Standing::Stale(_)));
        assert!(matches!(s.standing(None), Standing::Stale(_)));
        assert!(matches!(s.standing(Some(b"/opt/libsockfix.so\n")), Standing::Stale(_)));
        assert_eq!(State { ours: None, orig: None }.standing(Some(b"x")), Standing::None);
    }
}
