//! Key rings and session settings from a TOML file and the environment (feature `config`).
//!
//! A [`Config`] is read once at start-up: the file first, then `SEALED_SESSION_*` environment
//! variables on top (the environment wins), then the crate's defaults for anything neither
//! sets. Everything is validated when it is loaded, with errors that name where the value came
//! from (the file and the field, `/etc/myapp/session.toml: session.idle_timeout`,
//! `keys.key[1].secret`, or the variable, `SEALED_SESSION_COOKIE_NAME`) and never contain a
//! configured value, so a secret pasted into the wrong place does not end up in a log. That
//! includes paths the configuration names (`secret_file`, `SEALED_SESSION_KEYS_FILE`, and the
//! file `SEALED_SESSION_CONFIG` names): the message says which setting, not what it holds.
//!
//! ```no_run
//! use sealed_session::config::{Config, KeyRingReloader};
//! use sealed_session::SessionManager;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let config = Config::load("/etc/myapp/session.toml")?; // the file, then SEALED_SESSION_*
//! // Or `SessionLayer`, `SessionMiddleware`: any adapter takes the same builder.
//! let manager: SessionManager = config.session_builder().build()?;
//!
//! // Rotate without a restart: re-read the file every 30 s and swap the key ring when the keys
//! // changed (a SIGHUP handler can call `reloader.reload_if_changed()` instead).
//! let reloader = KeyRingReloader::new(&config).with_manager(manager.clone());
//! let _poller = reloader.spawn_poller(std::time::Duration::from_secs(30))?;
//! # Ok(()) }
//! ```
//!
//! # The file
//!
//! Every field is optional except the keys (which the environment may supply instead); an
//! unknown field is an error, so a typo cannot silently leave a default in place.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! # std::fs::write(dir.path().join("next.key"), "ASNFZ4mrze8BI0VniavN7wEjRWeJq83vASNFZ4mrze8=\n")?;
//! let toml = r#"
//! [session]
//! cookie_name = "__Host-session" # the prefix requires secure = true, path = "/", no domain
//! path = "/"
//! ## domain = "example.com"     # none by default: only the host that set the cookie gets it
//! same_site = "lax"             # "strict" | "lax" | "none" (none requires secure)
//! secure = true
//! http_only = true
//! partitioned = false
//! mode = "aes-256-gcm-siv"      # | "xchacha20poly1305" | "aes-256-gcm" | "signed-hmac-sha256"
//! also_open = []                # modes still opened (and re-sealed) while migrating
//! purpose = "session"
//! lifetime = "7d"               # absolute, from the session's creation
//! idle_timeout = "2h"           # or "off"
//! refresh_fraction = 0.25       # re-seal read-only requests after this share of idle_timeout
//! cookie_lifetime = "session"   # or a duration up to "400d" for a persistent cookie
//! chunks = 1                    # 1 = one cookie; up to 16 cookies per session
//! leeway = "60s"                # clock skew tolerated between servers
//! delete_rejected = true        # answer a refused cookie with a deletion cookie
//!
//! [keys]
//! revoke_before = "2023-11-01T00:00:00Z" # sessions created earlier do not open
//!
//! [[keys.key]]
//! id = "20231101"                # eight hex digits, 0x…, or decimal; default: derived from the secret
//! secret = "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA="
//! state = "primary"
//!
//! [[keys.key]]
//! id = "20231201"
//! secret_file = "next.key"       # relative to the file's directory; base64, white space ignored
//! state = "pending"
//! activates_at = 2023-12-01T00:00:00Z    # a TOML date-time or an RFC 3339 string
//!
//! [[keys.key]]
//! id = "20231001"
//! secret = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
//! state = "older"
//! retired_at = "2023-11-01T00:00:00Z"    # optional, informational; `rotate` writes it
//! "#;
//!
//! use sealed_session::config::Config;
//! use sealed_session::{KeyId, KeyState, UnixTime};
//!
//! let config = Config::loader().toml(toml).base_dir(dir.path()).load()?;
//! assert_eq!(config.cookie_name(), "__Host-session");
//! let ring = config.key_ring();
//! assert_eq!(ring.primary_id_at(UnixTime::from_secs(1_700_000_000)), KeyId::new(0x2023_1101));
//! assert_eq!(ring.primary_id_at(UnixTime::from_secs(1_701_388_800)), KeyId::new(0x2023_1201));
//! assert_eq!(ring.keys().count(), 3);
//! let manager = config.build_manager()?;
//! assert_eq!(manager.sealer().idle_timeout(), Some(std::time::Duration::from_secs(7200)));
//! # Ok(()) }
//! ```
//!
//! Keys: exactly one `primary` (seals and opens), any number of `older` keys (open only; their
//! tokens are re-sealed under the primary), at most one `pending` key (opens at once, seals from
//! `activates_at` on, with no reload needed). An older key's `retired_at` records when it stopped
//! sealing; only [`Rotation`] reads it, to warn before dropping a key that may still have live
//! sessions. Durations are humantime strings (`"90s"`, `"30m"`,
//! `"12h"`, `"14d"`, `"1h 30m"`); each setting has a range (an idle timeout of at most 100
//! years, a leeway of at most a day, …) and a value outside it is an error. Booleans
//! are `true`/`false` in the file; in the environment also `1`/`0`, `yes`/`no`, `on`/`off`, in
//! any case, and any other spelling (`flase`) is an error ([`parse_bool`]). Times are RFC 3339 with an offset, TOML date-times, or Unix
//! seconds (a TOML integer, or a string `"@1700000000"`).
//!
//! # The environment
//!
//! Each setting has a variable: `SEALED_SESSION_` and the field's name in upper case. A variable
//! that is set overrides the file; an empty one counts as unset; an unknown `SEALED_SESSION_*`
//! variable is an error (a typo would otherwise be ignored).
//!
//! | Variable | Overrides | Form |
//! | --- | --- | --- |
//! | `SEALED_SESSION_CONFIG` | — | the file to read when the loader is given none ([`Config::from_env`]) |
//! | `SEALED_SESSION_KEYS` | every `[[keys.key]]` | `id:secret,id:secret,…`: the first entry is primary, the rest older; an entry `id:secret@2026-12-01T00:00:00Z` is the pending key |
//! | `SEALED_SESSION_KEYS_FILE` | every `[[keys.key]]` | a file holding such a list (commas or new lines; `#` starts a comment), re-read on reload |
//! | `SEALED_SESSION_REVOKE_BEFORE` | `keys.revoke_before` | a time |
//! | `SEALED_SESSION_COOKIE_NAME`, `_PATH`, `_DOMAIN`, `_PURPOSE` | `session.*` | text |
//! | `SEALED_SESSION_SAME_SITE` | `session.same_site` | `strict`, `lax`, `none` |
//! | `SEALED_SESSION_SECURE`, `_HTTP_ONLY`, `_PARTITIONED`, `_DELETE_REJECTED` | `session.*` | `true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off` (any case; anything else is an error) |
//! | `SEALED_SESSION_MODE` | `session.mode` | a mode name |
//! | `SEALED_SESSION_ALSO_OPEN` | `session.also_open` | mode names, comma-separated |
//! | `SEALED_SESSION_LIFETIME`, `_LEEWAY` | `session.*` | a duration |
//! | `SEALED_SESSION_IDLE_TIMEOUT` | `session.idle_timeout` | a duration or `off` |
//! | `SEALED_SESSION_COOKIE_LIFETIME` | `session.cookie_lifetime` | `session` or a duration |
//! | `SEALED_SESSION_REFRESH_FRACTION` | `session.refresh_fraction` | a number from 0 to 1 |
//! | `SEALED_SESSION_CHUNKS` | `session.chunks` | 1 to 16 |
//!
//! Tests and embedders pass the variables in ([`ConfigLoader::env_vars`]) instead of changing
//! the process environment.
//!
//! # Reloading and rotation
//!
//! [`KeyRingReloader`] re-reads the same sources and swaps the key ring of every
//! [`SessionManager`] (or [`Sealer`]) it was given; requests in flight finish with the ring they
//! started with. Call [`reload_if_changed`](KeyRingReloader::reload_if_changed) from your own
//! timer or signal handler, or let [`spawn_poller`](KeyRingReloader::spawn_poller) do it on a
//! thread. Only the keys are reloaded; other settings apply at the next restart (a changed
//! setting is logged).
//!
//! [`Rotation`] edits a configuration file the way the `sealed-session rotate` command does:
//! add a key as pending (or primary), demote the old primary, drop older keys past a retention
//! count, and write the file atomically with [`write_atomically`]. The procedure, step by step,
//! is the README's *Key rotation runbook* section (`README.md#key-rotation-runbook`), and
//! `sealed-session --help` prints it too.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::clock::UnixTime;
use crate::envelope::Mode;
use crate::error::{Error, ErrorKind};
use crate::keys::{Key, KeyId, KeyRing, KeyState, RingProblem};
#[cfg(doc)]
use crate::seal::Sealer;
use crate::{Defaults, SessionBuilder, SessionManager, SessionSettings};

mod env;
mod file;
mod reload;
mod rotate;
mod settings;
mod values;

pub use reload::{KeyRingReloader, ReloadPoller};
pub use rotate::{write_atomically, Rotated, Rotation, RotationReport};
pub use values::{parse_bool, parse_time};

/// An [`ErrorKind::InvalidConfig`] error.
fn config_error(message: impl Into<std::borrow::Cow<'static, str>>) -> Error {
    Error::new(ErrorKind::InvalidConfig, message)
}

/// The same error with `prefix: ` in front of its message.
fn prefixed(prefix: &str, e: &Error) -> Error {
    Error::new(e.kind(), format!("{prefix}: {}", e.message()))
}

/// The merged session settings, and which source set each one.
#[derive(Clone, Debug, Default, PartialEq)]
struct Settings {
    /// Every setting: the defaults, then the file's, then the environment's.
    values: SessionSettings,
    /// Where each set field came from (`SEALED_SESSION_PATH`, `session.path`), by field name:
    /// errors found once the sources are merged name these, never the values. A field without
    /// an entry holds its default.
    origins: BTreeMap<String, String>,
}

impl Settings {
    /// The defaults with `entries` applied (later entries of a field win).
    fn from_entries(entries: &[settings::Entry]) -> Result<Settings, settings::Problem> {
        Ok(Settings {
            values: settings::session_settings(entries)?,
            origins: entries
                .iter()
                .map(|e| (e.field.clone(), e.label.clone()))
                .collect(),
        })
    }

    /// Whether a source set `field` (rather than leaving the default).
    fn is_set(&self, field: &str) -> bool {
        self.origins.contains_key(field)
    }

    /// Where `field` came from, or `session.FIELD` for a default.
    fn origin(&self, field: &str) -> String {
        self.origins
            .get(field)
            .cloned()
            .unwrap_or_else(|| format!("session.{field}"))
    }
}

/// Where a key's secret comes from.
#[derive(Clone)]
enum Secret {
    /// Given inline (already parsed: inline secrets are checked when the source is read).
    Inline(Key),
    /// A file holding it in base64, read each time the ring is built (so a reload sees a
    /// replaced file).
    File(PathBuf),
}

/// One configured key.
#[derive(Clone)]
struct KeySpec {
    /// Where it was configured, for messages: `keys.key[1]`, `SEALED_SESSION_KEYS[0]`.
    origin: String,
    id: Option<KeyId>,
    secret: Secret,
    state: KeyState,
}

/// Where a source's keys come from.
#[derive(Clone)]
enum KeySource {
    /// Listed in the source itself.
    Specs {
        /// `keys.key` or the variable's name.
        label: &'static str,
        specs: Vec<KeySpec>,
    },
    /// A key-list file (`SEALED_SESSION_KEYS_FILE`), read each time the ring is built.
    ListFile(PathBuf),
}

/// What one source (the file, or the environment) configures.
#[derive(Clone, Default)]
struct Layer {
    /// The session settings this source sets, already validated. The environment's are applied
    /// over the file's when the two are merged (its texts are zeroized: any of them may be a
    /// secret set in the wrong variable).
    session: Vec<settings::Entry>,
    keys: Option<KeySource>,
    revoke_before: Option<UnixTime>,
    /// The file's `[beaker]` section: the legacy reader, while migrating off Beaker.
    #[cfg(feature = "beaker-compat")]
    beaker: Option<crate::beaker::BeakerReader>,
    /// The variables this layer was read from (names only), for `Debug`.
    names: Vec<String>,
}

/// The key ring built from a key source, with the per-entry ids and states in source order.
struct BuiltRing {
    ring: KeyRing,
    entries: Vec<(KeyId, KeyState)>,
    /// SHA-256 over every id, state, secret and the cutoff: changes exactly when the ring does.
    fingerprint: [u8; 32],
}

/// Read a base64 secret from a file. Errors name `origin` (`keys.key[1]`), never the path (a
/// configured value, which could be a secret pasted into the wrong field) or the content.
fn read_secret_file(origin: &str, path: &Path) -> Result<Key, Error> {
    let bytes = Zeroizing::new(std::fs::read(path).map_err(|e| {
        config_error(format!(
            "{origin}.secret_file: cannot read the file it names: {e}"
        ))
    })?);
    let text = std::str::from_utf8(&bytes).map_err(|_| {
        Error::new(
            ErrorKind::InvalidKey,
            format!("{origin}.secret_file: the file does not hold base64 text"),
        )
    })?;
    Key::from_base64(text).map_err(|e| {
        Error::new(
            e.kind(),
            format!("{origin}.secret_file: the file's secret: {}", e.message()),
        )
    })
}

fn state_tag(state: KeyState) -> [u8; 9] {
    let mut out = [0u8; 9];
    let (tag, at) = match state {
        KeyState::Primary => (1u8, 0u64),
        KeyState::Older => (2, 0),
        KeyState::Pending { activates_at } => (3, activates_at.as_secs()),
    };
    let (first, rest) = out.split_at_mut(1);
    first.copy_from_slice(&[tag]);
    rest.copy_from_slice(&at.to_be_bytes());
    out
}

/// A [`KeyRingBuilder`](crate::KeyRingBuilder) problem, reported against the entries that
/// cause it (`keys.key[1]`, `SEALED_SESSION_KEYS[0]`), or the source (`label`).
fn ring_error(label: &str, specs: &[KeySpec], problem: RingProblem) -> Error {
    let at = |i: usize| specs.get(i).map_or(label, |s| s.origin.as_str());
    let message = match problem {
        RingProblem::Empty => format!("{label}: no keys are configured"),
        RingProblem::NoPrimary => {
            format!("{label}: no key is primary; exactly one key needs state \"primary\"")
        }
        RingProblem::SecondPrimary { first, second } => format!(
            "{}.state: a second primary key ({} is primary); a ring has exactly one",
            at(second),
            at(first)
        ),
        RingProblem::SecondPending { first, second } => format!(
            "{}.state: a second pending key ({} is pending); a ring has at most one",
            at(second),
            at(first)
        ),
        RingProblem::SameId { id, first, second } => format!(
            "{}: the key id {id} is already used by {}",
            at(second),
            at(first)
        ),
    };
    Error::new(ErrorKind::InvalidKeyRing, message)
}

/// Build the ring; [`KeyRingBuilder`](crate::KeyRingBuilder) checks it, and its problems are
/// reported against the entries that cause them.
fn build_ring(source: &KeySource, revoke_before: Option<UnixTime>) -> Result<BuiltRing, Error> {
    let listed;
    let (label, specs): (&str, &[KeySpec]) = match source {
        KeySource::Specs { label, specs } => (label, specs),
        KeySource::ListFile(path) => {
            // The path is not shown: it is the variable's value, and may be a pasted secret.
            let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
                config_error(format!(
                    "{}: cannot read the file it names: {e}",
                    env::KEYS_FILE
                ))
            })?);
            listed = env::key_list(&text, env::KEYS_FILE)?;
            (env::KEYS_FILE, &listed)
        }
    };
    let mut builder = KeyRing::builder();
    let mut entries: Vec<(KeyId, KeyState)> = Vec::with_capacity(specs.len());
    let mut hash = Sha256::new();
    for spec in specs {
        let mut key = match &spec.secret {
            Secret::Inline(key) => key.clone(),
            Secret::File(path) => read_secret_file(&spec.origin, path)?,
        };
        if let Some(id) = spec.id {
            key = key.with_id(id);
        }
        hash.update(key.id().get().to_be_bytes());
        hash.update(state_tag(spec.state));
        hash.update(key.to_base64().as_bytes());
        entries.push((key.id(), spec.state));
        builder = builder.key(key, spec.state);
    }
    if let Some(t) = revoke_before {
        builder = builder.revoke_before(t);
        hash.update(t.as_secs().to_be_bytes());
    }
    let ring = builder
        .try_build()
        .map_err(|problem| ring_error(label, specs, problem))?;
    Ok(BuiltRing {
        ring,
        entries,
        fingerprint: hash.finalize().into(),
    })
}

/// The sources a [`Config`] was loaded from, kept so a reload reads the same ones.
struct Origin {
    file: Option<PathBuf>,
    /// Whether `file` came from `SEALED_SESSION_CONFIG`: its path is then a configured value,
    /// and messages name the variable instead.
    file_from_env: bool,
    text: Option<Zeroizing<String>>,
    base_dir: PathBuf,
    env: Layer,
}

impl Origin {
    /// How messages name the file.
    fn file_label(&self, path: &Path) -> String {
        if self.file_from_env {
            format!("the file {} names", env::CONFIG)
        } else {
            path.display().to_string()
        }
    }

    /// Read the file (or text) again, put the environment on top, validate.
    fn load(self: &Arc<Self>) -> Result<Config, Error> {
        let file = match (&self.file, &self.text) {
            (Some(path), _) => {
                let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
                    config_error(format!("{}: cannot read: {e}", self.file_label(path)))
                })?);
                Some(
                    file::parse(&text, &self.base_dir)
                        .map_err(|e| prefixed(&self.file_label(path), &e))?,
                )
            }
            (None, Some(text)) => Some(file::parse(text, &self.base_dir)?),
            (None, None) => None,
        };
        let (config, _) = resolve(file, &self.env, Some(Arc::clone(self))).map_err(|e| {
            // Name the file, unless the problem is in a variable.
            match &self.file {
                Some(path) if !e.message().starts_with(env::PREFIX) => {
                    prefixed(&self.file_label(path), &e)
                }
                _ => e,
            }
        })?;
        Ok(config)
    }
}

/// Merge a file layer and an environment layer and validate the result. Also returns the ring
/// entries in source order (for [`Rotation`]).
fn resolve(
    file: Option<Layer>,
    env: &Layer,
    origin: Option<Arc<Origin>>,
) -> Result<(Config, Vec<(KeyId, KeyState)>), Error> {
    let file = file.unwrap_or_default();
    let mut entries = file.session.clone();
    entries.retain(|f| !env.session.iter().any(|e| e.field == f.field));
    entries.extend(env.session.iter().cloned());
    // Each source was validated alone, so a problem here is still named by its own source.
    let settings = Settings::from_entries(&entries).map_err(|p| config_error(p.to_string()))?;
    let keys = env.keys.as_ref().or(file.keys.as_ref()).ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidKeyRing,
            format!(
                "keys: no keys are configured: add [[keys.key]] sections to the file or set {}",
                env::KEYS
            ),
        )
    })?;
    let revoke_before = env.revoke_before.or(file.revoke_before);
    let built = build_ring(keys, revoke_before)?;
    let origin = origin.unwrap_or_else(|| {
        Arc::new(Origin {
            file: None,
            file_from_env: false,
            text: None,
            base_dir: PathBuf::from("."),
            env: env.clone(),
        })
    });
    let config = Config {
        settings,
        #[cfg(feature = "beaker-compat")]
        beaker: file.beaker,
        ring: built.ring,
        fingerprint: built.fingerprint,
        origin,
    };
    check_settings(&config)?;
    Ok((config, built.entries))
}

/// What a cookie name must be, for messages.
const NAME_RULE: &str = "must be a cookie name: letters, digits and !#$%&'*+-.^_`|~ only, short \
enough to leave room for the session";
/// What a cookie Path must be.
const PATH_RULE: &str = "must be a cookie Path: it starts with '/' and holds no ';', ',', space \
or control characters";
/// What a cookie Domain must be.
const DOMAIN_RULE: &str = "must be a host name: letters, digits, '-' and '.'";

/// Check the merged settings the way `build()` will, naming where each bad value came from.
///
/// The builders' own messages quote the name, Path or Domain they refuse, and such a value may
/// be a secret pasted into the wrong variable: each text setting is therefore first tried on its
/// own, with a message of ours; only problems between settings (which quote nothing) keep the
/// builder's words, and even then only if no configured text appears in them.
fn check_settings(config: &Config) -> Result<(), Error> {
    let s = &config.settings;
    let v = &s.values;
    let alone = || SessionBuilder::<SessionManager>::new(config.ring.clone());
    let fails = |b: SessionBuilder<SessionManager>| b.build().is_err();
    let bad = |field: &str, rule: &str| config_error(format!("{}: {rule}", s.origin(field)));
    if s.is_set("cookie_name") && fails(alone().with_cookie_name(v.cookie_name.clone())) {
        return Err(bad("cookie_name", NAME_RULE));
    }
    if s.is_set("path") && fails(alone().with_cookie_name("id").with_path(v.path.clone())) {
        return Err(bad("path", PATH_RULE));
    }
    if let Some(domain) = v.domain.clone().filter(|_| s.is_set("domain")) {
        if fails(alone().with_cookie_name("id").with_domain(domain)) {
            return Err(bad("domain", DOMAIN_RULE));
        }
    }
    if s.is_set("purpose") && fails(alone().with_purpose(v.purpose.clone())) {
        return Err(bad("purpose", "is not an acceptable purpose"));
    }
    let Err(e) = config.session_builder::<SessionManager>().build() else {
        return Ok(());
    };
    // File fields first: a message that starts with `session.` gets the file's name in front.
    let mut origins: Vec<&str> = s.origins.values().map(String::as_str).collect();
    origins.sort_by_key(|o| (o.starts_with(env::PREFIX), *o));
    let origins = if origins.is_empty() {
        "session".to_owned()
    } else {
        origins.join(", ")
    };
    let texts = [
        ("cookie_name", Some(v.cookie_name.as_str())),
        ("path", Some(v.path.as_str())),
        ("domain", v.domain.as_deref()),
        ("purpose", Some(v.purpose.as_str())),
    ];
    let quotes_a_value = texts
        .iter()
        .filter(|(field, _)| s.is_set(field))
        .filter_map(|(_, t)| *t)
        .any(|t| t.len() > 1 && e.message().contains(t));
    let mut problem = if quotes_a_value {
        "these settings do not work together".to_owned()
    } else {
        values::sanitize(e.message())
    };
    if !s.is_set("cookie_name") && problem.contains("__Host-") {
        problem.push_str(&format!(
            " (the default cookie name is {}: set session.cookie_name or {}COOKIE_NAME to \
             another name)",
            Defaults::COOKIE_NAME,
            env::PREFIX
        ));
    }
    Err(Error::new(e.kind(), format!("{origins}: {problem}")))
}

/// Validated keys and session settings. See the [module documentation](self) for the file
/// format and the environment variables.
///
/// `Debug` shows the settings, the key ids and states, and the names of the environment
/// variables applied; never a secret.
#[derive(Clone)]
pub struct Config {
    settings: Settings,
    #[cfg(feature = "beaker-compat")]
    beaker: Option<crate::beaker::BeakerReader>,
    ring: KeyRing,
    fingerprint: [u8; 32],
    origin: Arc<Origin>,
}

impl Config {
    /// Start configuring where the configuration comes from.
    pub fn loader() -> ConfigLoader {
        ConfigLoader::default()
    }

    /// Load `path`, then apply the process's `SEALED_SESSION_*` variables on top.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidConfig`] for a file that cannot be read, a syntax error (with line
    /// and column), an unknown field or variable, or a malformed value, naming the field;
    /// [`ErrorKind::InvalidKey`] for a secret that is not acceptable; [`ErrorKind::InvalidKeyRing`]
    /// for a ring without exactly one primary key, with two pending keys or a repeated id.
    pub fn load(path: impl AsRef<Path>) -> Result<Config, Error> {
        Config::loader().file(path.as_ref()).env().load()
    }

    /// Load from the process's `SEALED_SESSION_*` variables alone, or from the file
    /// `SEALED_SESSION_CONFIG` names with the other variables on top.
    ///
    /// # Errors
    /// As [`load`](Self::load).
    pub fn from_env() -> Result<Config, Error> {
        Config::loader().env().load()
    }

    /// Parse a configuration held in a string (relative `secret_file` paths are relative to the
    /// current directory), without looking at the environment.
    ///
    /// # Errors
    /// As [`load`](Self::load).
    pub fn from_toml_str(text: &str) -> Result<Config, Error> {
        Config::loader().toml(text).load()
    }

    /// The key ring (cheap to clone; shared).
    pub fn key_ring(&self) -> KeyRing {
        self.ring.clone()
    }

    /// A session builder with every configured setting applied, for a [`SessionManager`] or any
    /// adapter (`SessionLayer`, `SessionMiddleware`). Settings the configuration leaves out keep
    /// the builder's defaults; more `with_*` calls may follow (a clock, a codec).
    ///
    /// The settings were validated when the configuration was loaded, so `build()` fails only
    /// if a later `with_*` call made them invalid.
    pub fn session_builder<T: From<SessionManager>>(&self) -> SessionBuilder<T> {
        let builder =
            SessionBuilder::<T>::new(self.ring.clone()).with_settings(self.settings.values.clone());
        #[cfg(feature = "beaker-compat")]
        let builder = match &self.beaker {
            Some(reader) => builder.with_legacy_beaker(reader.clone()),
            None => builder,
        };
        builder
    }

    /// The legacy Beaker reader of the file's `[beaker]` section, if any (feature
    /// `beaker-compat`; [`session_builder`](Self::session_builder) applies it).
    #[cfg(feature = "beaker-compat")]
    pub fn beaker(&self) -> Option<&crate::beaker::BeakerReader> {
        self.beaker.as_ref()
    }

    /// The session settings: the defaults with the file's and the environment's on top.
    pub fn settings(&self) -> &SessionSettings {
        &self.settings.values
    }

    /// A [`SessionManager`] with these settings (`self.session_builder().build()`).
    ///
    /// # Errors
    /// None in practice: the settings were validated when loaded.
    pub fn build_manager(&self) -> Result<SessionManager, Error> {
        self.session_builder().build()
    }

    /// The cookie name (the configured one, or [`Defaults::COOKIE_NAME`]).
    pub fn cookie_name(&self) -> &str {
        &self.settings.values.cookie_name
    }

    /// The sealing mode (the configured one, or [`Defaults::MODE`]).
    pub fn mode(&self) -> Mode {
        self.settings.values.mode
    }

    /// The file this configuration was read from, if any.
    pub fn source(&self) -> Option<&Path> {
        self.origin.file.as_deref()
    }

    /// Whether the two were loaded with the same keys (ids, states, secrets and cutoff).
    pub fn same_keys(&self, other: &Config) -> bool {
        self.fingerprint == other.fingerprint
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("source", &self.origin.file)
            .field("session", &self.settings)
            .field("keys", &self.ring.keys().collect::<Vec<_>>())
            .field("revoke_before", &self.ring.revoke_before())
            .field("env", &self.origin.env.names)
            .finish()
    }
}

/// Where the environment comes from.
#[derive(Default)]
enum EnvSource {
    /// No environment: the file alone.
    #[default]
    Ignored,
    /// The process's variables.
    Process,
    /// Variables given by the caller.
    Given(Vec<(String, Zeroizing<String>)>),
}

/// Chooses the sources of a [`Config`]: a file or a string, and the environment (the process's,
/// one given as pairs, or none).
///
/// ```
/// use sealed_session::config::Config;
/// use sealed_session::Key;
///
/// let key = Key::generate();
/// let vars = [
///     ("SEALED_SESSION_KEYS".to_owned(), format!("1:{}", key.to_base64().as_str())),
///     ("SEALED_SESSION_COOKIE_NAME".to_owned(), "id".to_owned()),
///     ("PATH".to_owned(), "/usr/bin".to_owned()), // not ours: ignored
/// ];
/// let config = Config::loader().env_vars(vars).load()?;
/// assert_eq!(config.cookie_name(), "id");
/// # Ok::<(), sealed_session::Error>(())
/// ```
#[derive(Default)]
pub struct ConfigLoader {
    file: Option<PathBuf>,
    text: Option<Zeroizing<String>>,
    base_dir: Option<PathBuf>,
    env: EnvSource,
}

impl fmt::Debug for ConfigLoader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let env: Vec<&str> = match &self.env {
            EnvSource::Ignored => Vec::new(),
            EnvSource::Process => vec!["<process>"],
            EnvSource::Given(vars) => vars.iter().map(|(k, _)| k.as_str()).collect(),
        };
        f.debug_struct("ConfigLoader")
            .field("file", &self.file)
            .field("text", &self.text.as_ref().map(|_| "<redacted>"))
            .field("base_dir", &self.base_dir)
            .field("env", &env)
            .finish()
    }
}

impl ConfigLoader {
    /// Read this TOML file (and again on every reload).
    #[must_use]
    pub fn file(mut self, path: impl Into<PathBuf>) -> Self {
        self.file = Some(path.into());
        self.text = None;
        self
    }

    /// Use this TOML text instead of a file.
    #[must_use]
    pub fn toml(mut self, text: impl Into<String>) -> Self {
        self.text = Some(Zeroizing::new(text.into()));
        self.file = None;
        self
    }

    /// The directory relative `secret_file` paths start from. Default: the file's directory,
    /// or the current directory for text.
    #[must_use]
    pub fn base_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.base_dir = Some(dir.into());
        self
    }

    /// Apply the process's `SEALED_SESSION_*` variables on top of the file.
    #[must_use]
    pub fn env(mut self) -> Self {
        self.env = EnvSource::Process;
        self
    }

    /// Apply these variables on top of the file, as if they were the environment (only
    /// `SEALED_SESSION_*` names are looked at).
    #[must_use]
    pub fn env_vars<I, K, V>(mut self, vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        self.env = EnvSource::Given(
            vars.into_iter()
                .map(|(k, v)| (k.into(), Zeroizing::new(v.into())))
                .collect(),
        );
        self
    }

    /// Read, merge and validate.
    ///
    /// # Errors
    /// As [`Config::load`]; also [`ErrorKind::InvalidConfig`] when neither a file, a text, nor
    /// any key variable is given.
    pub fn load(self) -> Result<Config, Error> {
        let (env, config_var) = match self.env {
            EnvSource::Ignored => (Layer::default(), None),
            EnvSource::Process => env::parse(env::process_vars()?)?,
            EnvSource::Given(vars) => env::parse(vars)?,
        };
        let file_from_env = self.file.is_none() && self.text.is_none() && config_var.is_some();
        let file = match (self.file, &self.text) {
            (Some(f), _) => Some(f),
            (None, Some(_)) => None,
            (None, None) => config_var,
        };
        let base_dir = self
            .base_dir
            .or_else(|| {
                file.as_deref()
                    .and_then(Path::parent)
                    .map(|p| {
                        if p.as_os_str().is_empty() {
                            Path::new(".")
                        } else {
                            p
                        }
                    })
                    .map(Path::to_path_buf)
            })
            .unwrap_or_else(|| PathBuf::from("."));
        let origin = Arc::new(Origin {
            file,
            file_from_env,
            text: self.text,
            base_dir,
            env,
        });
        origin.load()
    }
}
