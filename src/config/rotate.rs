//! Rotating the keys of a configuration file: what `sealed-session rotate` does, as a library.

use std::fmt;
use std::io::Write as _;
use std::path::Path;

use toml::{Table, Value};
use zeroize::Zeroizing;

use super::file::{self, state_name, KEY_FIELDS};
use super::{config_error, resolve, Layer};
use crate::clock::UnixTime;
use crate::error::Error;
use crate::keys::{Key, KeyId, KeyState};

/// The first line of a rewritten file.
const HEADER: &str =
    "# sealed-session configuration. `sealed-session rotate` rewrites this file: it \
keeps every value,\n# but not comments or formatting. Keys: the pending key, the primary, then \
older keys, most recent first.\n";

/// One key rotation, applied to the text of a configuration file.
///
/// Applying it:
/// 1. checks the file (it must load, with its secret files);
/// 2. if the pending key's time has come, makes it the primary and demotes the old primary to
///    older (what the ring already does at that time, now written down); if a pending key is
///    still in the future, refuses: a rotation is in progress;
/// 3. adds the new key, as pending from the given time, or as primary at once (the old primary
///    becomes the most recent older key);
/// 4. keeps at most `retain` older keys, if set, dropping the least recent (older keys are
///    ranked by their place in the file, first = most recent; rotation keeps them that way).
///    A demoted key gets a `retired_at` time, so the report can tell which dropped keys may
///    still have live sessions ([`RotationReport::dropped_early`]);
/// 5. writes the keys back in that order, leaves `[session]` and `revoke_before` as they were
///    (values, not comments), keeps `secret_file` references as references, and checks that the
///    result loads and holds every key it should.
///
/// ```
/// use sealed_session::config::{Config, Rotation};
/// use sealed_session::{Key, UnixTime};
/// use std::path::Path;
///
/// let old = Key::generate();
/// let secret = old.to_base64();
/// let text = format!("[[keys.key]]\nsecret = \"{}\"\nstate = \"primary\"\n", secret.as_str());
/// let now = UnixTime::from_secs(1_700_000_000);
///
/// let new = Key::generate();
/// let rotated = Rotation::pending(new.clone(), UnixTime::from_secs(1_700_003_600))
///     .apply(&text, Path::new("."), now)?;
/// assert_eq!(rotated.report().added(), new.id());
/// assert!(rotated.report().demoted().is_empty()); // the old key stays primary until then
///
/// let config = Config::from_toml_str(rotated.text())?;
/// assert_eq!(config.key_ring().primary_id_at(now), old.id());
/// assert_eq!(config.key_ring().primary_id_at(UnixTime::from_secs(1_700_003_600)), new.id());
/// # Ok::<(), sealed_session::Error>(())
/// ```
pub struct Rotation {
    key: Key,
    activates_at: Option<UnixTime>,
    retain: Option<usize>,
}

impl fmt::Debug for Rotation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rotation")
            .field("key", &self.key)
            .field("activates_at", &self.activates_at)
            .field("retain", &self.retain)
            .finish()
    }
}

impl Rotation {
    /// Add `key` as the pending key, primary from `activates_at` on.
    pub fn pending(key: Key, activates_at: UnixTime) -> Self {
        Rotation {
            key,
            activates_at: Some(activates_at),
            retain: None,
        }
    }

    /// Add `key` as the primary at once; the current primary becomes an older key.
    pub fn immediate(key: Key) -> Self {
        Rotation {
            key,
            activates_at: None,
            retain: None,
        }
    }

    /// Keep at most `n` older keys (the most recent ones). Default: keep them all.
    #[must_use]
    pub fn retain(mut self, n: usize) -> Self {
        self.retain = Some(n);
        self
    }

    /// Apply the rotation to `text` at `now`; relative `secret_file` paths start at `base_dir`.
    /// Nothing is written: see [`write_atomically`] for that.
    ///
    /// # Errors
    /// Any error loading `text` (see [`Config::load`](super::Config::load)), with the file's
    /// keys required to be in the file;
    /// [`ErrorKind::InvalidConfig`](crate::ErrorKind::InvalidConfig) when a pending key is still
    /// waiting for its time, when the activation time is not after `now`, or when the new key's
    /// id is already in the file.
    pub fn apply(&self, text: &str, base_dir: &Path, now: UnixTime) -> Result<Rotated, Error> {
        let mut root = file::parse_table(text)?;
        let layer = file::parse(text, base_dir)?;
        if layer.keys.is_none() {
            return Err(config_error(
                "keys.key: the file has no [[keys.key]] sections; rotate edits the keys of the file",
            ));
        }
        let (config, states) = resolve(Some(layer), &Layer::default(), None)?;
        let lifetime = config.settings.values.lifetime;
        if let Some(at) = self.activates_at {
            if at <= now {
                return Err(config_error(format!(
                    "the activation time {at} is not after now ({now}); rotate immediately instead"
                )));
            }
        }
        let new_id = self.key.id();
        if states.iter().any(|(id, _)| *id == new_id) {
            return Err(config_error(format!(
                "keys.key: a key with the id {new_id} is already in the file; choose another id"
            )));
        }

        let Some(Value::Table(mut keys)) = root.remove("keys") else {
            return Err(config_error("keys: expected a table"));
        };
        let Some(Value::Array(entries)) = keys.remove("key") else {
            return Err(config_error("keys.key: expected an array of tables"));
        };
        let mut primary: Option<(KeyId, Table)> = None;
        let mut pending: Option<(KeyId, UnixTime, usize, Table)> = None;
        let mut older: Vec<(KeyId, Table)> = Vec::new();
        for (index, (entry, (id, state))) in entries.into_iter().zip(states).enumerate() {
            let Value::Table(entry) = entry else {
                return Err(config_error(format!("keys.key[{index}]: expected a table")));
            };
            match state {
                KeyState::Primary => primary = Some((id, entry)),
                KeyState::Older => older.push((id, entry)),
                KeyState::Pending { activates_at } => {
                    pending = Some((id, activates_at, index, entry));
                }
            }
        }
        let Some(mut primary) = primary else {
            return Err(config_error("keys.key: no primary key"));
        };

        let mut promoted = None;
        let mut demoted = Vec::new();
        if let Some((id, at, index, mut entry)) = pending {
            if at > now {
                return Err(config_error(format!(
                    "keys.key[{index}]: the key {id} is pending until {at}: a rotation is already in \
                     progress. Let it activate, then rotate again (or remove it from the file)"
                )));
            }
            entry.insert("state".to_owned(), Value::String("primary".to_owned()));
            entry.remove("activates_at");
            let (old_id, old) = std::mem::replace(&mut primary, (id, entry));
            older.insert(0, (old_id, retire(old, at)));
            promoted = Some(id);
            demoted.insert(0, old_id);
        }

        let mut new_entry = Table::new();
        new_entry.insert("id".to_owned(), Value::String(new_id.to_string()));
        new_entry.insert(
            "secret".to_owned(),
            Value::String(self.key.to_base64().as_str().to_owned()),
        );
        let added_state = match self.activates_at {
            Some(at) => {
                new_entry.insert("state".to_owned(), Value::String("pending".to_owned()));
                new_entry.insert("activates_at".to_owned(), Value::String(at.to_string()));
                KeyState::Pending { activates_at: at }
            }
            None => {
                new_entry.insert("state".to_owned(), Value::String("primary".to_owned()));
                let (old_id, old) = std::mem::replace(&mut primary, (new_id, new_entry.clone()));
                older.insert(0, (old_id, retire(old, now)));
                demoted.insert(0, old_id);
                KeyState::Primary
            }
        };

        let mut dropped = Vec::new();
        let mut dropped_early = Vec::new();
        if let Some(n) = self.retain {
            if older.len() > n {
                for (id, entry) in older.split_off(n) {
                    let retired = entry
                        .get("retired_at")
                        .and_then(|v| file::time_value(v, "retired_at").ok());
                    let safe = retired
                        .and_then(|t| t.checked_add(lifetime))
                        .is_some_and(|t| t <= now);
                    if !safe {
                        dropped_early.push(id);
                    }
                    dropped.push(id);
                }
            }
        }

        let mut ordered: Vec<(KeyId, &Table)> = Vec::new();
        if added_state != KeyState::Primary {
            ordered.push((new_id, &new_entry));
        }
        ordered.push((primary.0, &primary.1));
        ordered.extend(older.iter().map(|(id, t)| (*id, t)));

        let text = render(&root, &keys, &ordered)?;

        // Check the result: it loads, and holds exactly the keys it should, in the right states.
        let layer = file::parse(&text, base_dir).map_err(|e| internal(&e))?;
        let (_, written) =
            resolve(Some(layer), &Layer::default(), None).map_err(|e| internal(&e))?;
        let expected: Vec<KeyId> = ordered.iter().map(|(id, _)| *id).collect();
        let got: Vec<KeyId> = written.iter().map(|(id, _)| *id).collect();
        if expected != got {
            return Err(internal(&config_error(
                "the rewritten file lost or reordered a key",
            )));
        }
        Ok(Rotated {
            text: Zeroizing::new(text),
            report: RotationReport {
                added: new_id,
                added_state,
                promoted,
                demoted,
                dropped,
                dropped_early,
                keys: written,
            },
        })
    }
}

/// Demote a primary: state older, retired at `at`.
fn retire(mut entry: Table, at: UnixTime) -> Table {
    entry.insert("state".to_owned(), Value::String("older".to_owned()));
    entry.insert("retired_at".to_owned(), Value::String(at.to_string()));
    entry
}

fn internal(e: &Error) -> Error {
    Error::new(
        e.kind(),
        format!(
            "rotation produced an invalid file (a bug; nothing was written): {}",
            e.message()
        ),
    )
}

/// The file: the header, every top-level table but `keys` as `toml` writes it, then `[keys]`
/// by hand so that each key's fields come in a readable order.
fn render(root: &Table, keys: &Table, ordered: &[(KeyId, &Table)]) -> Result<String, Error> {
    let rest = toml::to_string(root).map_err(|e| {
        config_error(format!(
            "cannot write the file: {}",
            super::values::sanitize(&e.to_string())
        ))
    })?;
    let mut out = String::from(HEADER);
    if !rest.trim().is_empty() {
        out.push('\n');
        out.push_str(rest.trim_end());
        out.push('\n');
    }
    if !keys.is_empty() {
        out.push_str("\n[keys]\n");
        for (name, value) in keys {
            // Only `revoke_before` is left (the file was validated).
            out.push_str(&format!("{name} = {value}\n"));
        }
    }
    for (_, entry) in ordered {
        out.push_str("\n[[keys.key]]\n");
        for field in KEY_FIELDS {
            if let Some(value) = entry.get(field) {
                out.push_str(&format!("{field} = {value}\n"));
            }
        }
    }
    Ok(out)
}

/// The result of [`Rotation::apply`]: the new file text and what changed.
///
/// `Debug` shows the report, not the text (which holds secrets).
pub struct Rotated {
    text: Zeroizing<String>,
    report: RotationReport,
}

impl Rotated {
    /// The new file's text, secrets included: write it with [`write_atomically`].
    pub fn text(&self) -> &str {
        &self.text
    }

    /// What changed.
    pub fn report(&self) -> &RotationReport {
        &self.report
    }
}

impl fmt::Debug for Rotated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rotated")
            .field("text", &"<redacted>")
            .field("report", &self.report)
            .finish()
    }
}

/// What a [`Rotation`] changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RotationReport {
    added: KeyId,
    added_state: KeyState,
    promoted: Option<KeyId>,
    demoted: Vec<KeyId>,
    dropped: Vec<KeyId>,
    dropped_early: Vec<KeyId>,
    keys: Vec<(KeyId, KeyState)>,
}

impl RotationReport {
    /// The new key's id.
    pub fn added(&self) -> KeyId {
        self.added
    }
    /// The new key's state: pending (with its time) or primary.
    pub fn added_state(&self) -> KeyState {
        self.added_state
    }
    /// The pending key whose time had come and that is now written as the primary.
    pub fn promoted(&self) -> Option<KeyId> {
        self.promoted
    }
    /// The keys that were primary (in the file, or in effect) and are now older keys, most
    /// recent first: the old primary, and the promoted pending key too with
    /// [`Rotation::immediate`].
    pub fn demoted(&self) -> &[KeyId] {
        &self.demoted
    }
    /// The older keys dropped by the retention count, most recent first.
    pub fn dropped(&self) -> &[KeyId] {
        &self.dropped
    }
    /// The dropped keys that may still have live sessions: retired less than one session
    /// lifetime (`session.lifetime`) ago, or at an unknown time (no `retired_at`). Users whose
    /// cookie is under one of them get a fresh session.
    pub fn dropped_early(&self) -> &[KeyId] {
        &self.dropped_early
    }
    /// Every key in the new file, in file order, with its state.
    pub fn keys(&self) -> &[(KeyId, KeyState)] {
        &self.keys
    }
    /// The states in `id=state` form, space-separated (what the command prints).
    pub fn keys_summary(&self) -> String {
        self.keys
            .iter()
            .map(|(id, state)| format!("{id}={}", state_name(*state)))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Give the temporary file the owner, group and permissions the replaced file had (without any
/// access for others), or 0600 for a new file.
///
/// Keeping the owner matters: the file is usually owned by the application's user and rotated
/// by root (or a deploy user); a replacement owned by the caller with mode 0600 would lock the
/// application out of its own keys at the next reload.
#[cfg(unix)]
fn take_over_ownership(file: &std::fs::File, path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
    let mode = match std::fs::metadata(path) {
        Ok(old) => {
            let new = file.metadata()?;
            if (old.uid(), old.gid()) != (new.uid(), new.gid()) {
                std::os::unix::fs::fchown(file, Some(old.uid()), Some(old.gid())).map_err(|e| {
                    std::io::Error::new(
                        e.kind(),
                        format!(
                            "cannot give the new file the owner and group of the old one (uid \
                             {}, gid {}): {e}; run as that user or as root",
                            old.uid(),
                            old.gid()
                        ),
                    )
                })?;
            }
            // The owner's and the group's bits as they were; nothing for others (the file holds
            // secrets, and a world-readable key file is a mistake worth correcting).
            old.mode() & 0o770
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0o600,
        Err(e) => return Err(e),
    };
    file.set_permissions(std::fs::Permissions::from_mode(mode))
}

/// Write `contents` into the new temporary file, give it the old file's owner and permissions,
/// flush it to disk and rename it over `path`.
fn fill_and_rename(
    mut file: std::fs::File,
    contents: &[u8],
    tmp: &Path,
    path: &Path,
) -> std::io::Result<()> {
    file.write_all(contents)?;
    #[cfg(unix)]
    take_over_ownership(&file, path)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(tmp, path)
}

/// Replace the file at `path` with `contents` atomically: write a temporary file next to it
/// (created with permissions 0600 on Unix, so the secrets are never readable by others, not even
/// briefly), flush it to disk, rename it over `path`, and flush the directory. A reader sees the
/// old file or the new one, never a mix; a crash leaves at worst a stray temporary file.
///
/// On Unix the new file keeps the replaced file's owner and group (changing them needs the
/// rights `chown` needs: run as that user or as root) and its permissions for the owner and the
/// group; permissions for others are removed. A file that did not exist is created 0600.
///
/// # Errors
/// Any I/O error, including an owner or group that cannot be kept; the original file is then
/// untouched and the temporary file removed.
pub fn write_atomically(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::{Error as IoError, ErrorKind as IoKind};
    let name = path
        .file_name()
        .ok_or_else(|| IoError::new(IoKind::InvalidInput, "the path names no file"))?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut attempt = 0u32;
    let (tmp, file) = loop {
        let candidate = dir.join(format!(
            ".{}.{}.{:016x}.tmp",
            name.to_string_lossy(),
            std::process::id(),
            rand::random::<u64>()
        ));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(&candidate) {
            Ok(f) => break (candidate, f),
            Err(e) if e.kind() == IoKind::AlreadyExists && attempt < 8 => {
                attempt = attempt.saturating_add(1);
            }
            Err(e) => return Err(e),
        }
    };
    let written = fill_and_rename(file, contents, &tmp, path);
    if let Err(e) = written {
        // Best effort: the error that matters is the one returned.
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    // Make the rename itself durable; not every platform can open a directory.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}
