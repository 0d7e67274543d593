//! The TOML file: parsed into a [`toml::Table`] (serde, via the `toml` crate). The `[session]`
//! table goes through serde into the settings (`super::settings`); the keys are walked field by
//! field. Either way every message names the field's path and no message repeats a value.
//!
//! `toml`'s own deserialization errors quote the offending value (`invalid type: string "…"`),
//! and a secret in the wrong field would be that value, so no value is deserialized through
//! `toml`'s deserializer. Syntax errors keep `toml`'s description, with line and column, after
//! [`values::sanitize`]; `toml`'s rendering of them, which quotes the source line, is not used.

use std::path::Path;

use toml::{Table, Value};

use super::settings::{Entry, Source};
use super::{config_error, values, KeySource, KeySpec, Layer, Secret, Settings};
use crate::clock::UnixTime;
use crate::error::{Error, ErrorKind};
use crate::keys::{Key, KeyId, KeyState};

/// The top-level tables.
const TOP_FIELDS: [&str; 3] = ["session", "keys", "beaker"];
/// The fields of `[beaker]` (the legacy reader, feature `beaker-compat`).
const BEAKER_FIELDS: [&str; 7] = [
    "validate_key",
    "encrypt_key",
    "crypto",
    "cookie_name",
    "path",
    "domain",
    "timeout",
];
/// The fields of `[keys]`.
const KEYS_FIELDS: [&str; 2] = ["revoke_before", "key"];
/// The fields of one `[[keys.key]]`.
pub(super) const KEY_FIELDS: [&str; 6] = [
    "id",
    "secret",
    "secret_file",
    "state",
    "activates_at",
    "retired_at",
];

/// Parse the text into a table.
///
/// # Errors
/// [`ErrorKind::InvalidConfig`]: "TOML syntax error at line L, column C: …", sanitized.
pub(super) fn parse_table(text: &str) -> Result<Table, Error> {
    text.parse::<Table>().map_err(|e| {
        let at = e
            .span()
            .map(|span| {
                let before = text.get(..span.start).unwrap_or(text);
                let line = before.matches('\n').count().saturating_add(1);
                let column = before
                    .rsplit('\n')
                    .next()
                    .map_or(0, |l| l.chars().count())
                    .saturating_add(1);
                format!(" at line {line}, column {column}")
            })
            .unwrap_or_default();
        config_error(format!(
            "TOML syntax error{at}: {}",
            values::sanitize(e.message().trim())
        ))
    })
}

/// Parse the file's text into a layer; relative `secret_file` paths start at `base_dir`.
///
/// # Errors
/// See [`Config::load`](super::Config::load).
pub(super) fn parse(text: &str, base_dir: &Path) -> Result<Layer, Error> {
    let root = parse_table(text)?;
    let root = Node::new(&root, String::new(), &TOP_FIELDS)?;
    let mut layer = Layer::default();
    match root.get("session") {
        None => {}
        Some(Value::Table(session)) => {
            layer.session = session
                .iter()
                .map(|(field, value)| Entry {
                    field: field.clone(),
                    label: format!("session.{}", values::field_name(field)),
                    source: Source::File(value.clone()),
                })
                .collect();
            // Checked now, so the file is refused on its own whatever the environment says.
            Settings::from_entries(&layer.session).map_err(|p| config_error(p.to_string()))?;
        }
        Some(v) => return Err(wrong_type("session", "a table ([session])", v)),
    }
    if let Some(beaker) = root.table("beaker", &BEAKER_FIELDS)? {
        #[cfg(feature = "beaker-compat")]
        {
            layer.beaker = Some(beaker_reader(&beaker)?);
        }
        #[cfg(not(feature = "beaker-compat"))]
        {
            let _ = beaker;
            return Err(config_error(
                "beaker: reading Beaker cookies needs the beaker-compat feature",
            ));
        }
    }
    if let Some(keys) = root.table("keys", &KEYS_FIELDS)? {
        layer.revoke_before = keys
            .get("revoke_before")
            .map(|v| time_value(v, &keys.path_of("revoke_before")))
            .transpose()?;
        layer.keys = match keys.get("key") {
            None => None,
            Some(Value::Array(items)) => {
                let mut specs = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let path = format!("keys.key[{i}]");
                    match item {
                        Value::Table(t) => {
                            specs.push(key_spec(&Node::new(t, path, &KEY_FIELDS)?, base_dir)?);
                        }
                        v => return Err(wrong_type(&path, "a table", v)),
                    }
                }
                Some(KeySource::Specs {
                    label: "keys.key",
                    specs,
                })
            }
            Some(v) => {
                return Err(wrong_type(
                    "keys.key",
                    "an array of tables ([[keys.key]] sections)",
                    v,
                ))
            }
        };
    }
    Ok(layer)
}

/// The `[beaker]` section as a legacy reader; messages name the field, never its value.
#[cfg(feature = "beaker-compat")]
fn beaker_reader(node: &Node<'_>) -> Result<crate::beaker::BeakerReader, Error> {
    use crate::beaker::{BeakerCrypto, BeakerReader};
    let text = |field: &str| -> Result<Option<String>, Error> {
        match node.get(field) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(v) => Err(wrong_type(&node.path_of(field), "a string", v)),
        }
    };
    let Some(validate_key) = text("validate_key")? else {
        return Err(config_error(format!(
            "{}: missing (Beaker's validate_key)",
            node.path_of("validate_key")
        )));
    };
    let mut reader = BeakerReader::builder(validate_key);
    if let Some(key) = text("encrypt_key")? {
        reader = reader.encrypt_key(key);
    }
    if let Some(crypto) = text("crypto")? {
        reader = reader.crypto(match crypto.as_str() {
            "cryptography" => BeakerCrypto::Cryptography,
            "pycryptodome" | "pycrypto" => BeakerCrypto::Pycryptodome,
            _ => {
                return Err(config_error(format!(
                    "{}: expected cryptography or pycryptodome",
                    node.path_of("crypto")
                )))
            }
        });
    }
    if let Some(name) = text("cookie_name")? {
        reader = reader.cookie_name(name);
    }
    if let Some(path) = text("path")? {
        reader = reader.path(path);
    }
    if let Some(domain) = text("domain")? {
        reader = reader.domain(Some(domain));
    }
    match node.get("timeout") {
        None => {}
        Some(Value::Integer(secs)) => {
            let secs = u64::try_from(*secs).map_err(|_| {
                config_error(format!("{}: must not be negative", node.path_of("timeout")))
            })?;
            reader = reader.timeout_secs(Some(secs));
        }
        Some(v) => {
            return Err(wrong_type(
                &node.path_of("timeout"),
                "seconds (an integer)",
                v,
            ))
        }
    }
    reader
        .build()
        .map_err(|e| Error::new(e.kind(), format!("beaker: {}", e.message())))
}

/// A table at a path, whose keys were checked against the allowed names.
pub(super) struct Node<'a> {
    table: &'a Table,
    path: String,
}

impl<'a> Node<'a> {
    /// # Errors
    /// [`ErrorKind::InvalidConfig`] naming the first unknown key (sanitized) and listing the
    /// allowed ones.
    pub(super) fn new(table: &'a Table, path: String, allowed: &[&str]) -> Result<Self, Error> {
        let node = Node { table, path };
        if let Some(unknown) = table.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(config_error(format!(
                "{}: unknown field; expected one of {}",
                node.path_of(&values::field_name(unknown)),
                allowed.join(", ")
            )));
        }
        Ok(node)
    }

    pub(super) fn path_of(&self, name: &str) -> String {
        if self.path.is_empty() {
            name.to_owned()
        } else {
            format!("{}.{name}", self.path)
        }
    }

    pub(super) fn get(&self, name: &str) -> Option<&'a Value> {
        self.table.get(name)
    }

    fn table(&self, name: &str, allowed: &[&str]) -> Result<Option<Node<'a>>, Error> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Table(t)) => Node::new(t, self.path_of(name), allowed).map(Some),
            Some(v) => Err(wrong_type(
                &self.path_of(name),
                &format!("a table ([{name}])"),
                v,
            )),
        }
    }
}

/// What a value is, without the value.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a float",
        Value::Boolean(_) => "a boolean",
        Value::Datetime(_) => "a date-time",
        Value::Array(_) => "an array",
        Value::Table(_) => "a table",
    }
}

fn wrong_type(path: &str, expected: &str, found: &Value) -> Error {
    config_error(format!(
        "{path}: expected {expected}, found {}",
        kind(found)
    ))
}

/// A time: an RFC 3339 string (or `@` and Unix seconds), a TOML offset date-time, or a TOML
/// integer of Unix seconds.
pub(super) fn time_value(v: &Value, path: &str) -> Result<UnixTime, Error> {
    let parse = |text: &str| {
        values::parse_time(text).map_err(|e| config_error(format!("{path}: {}", e.message())))
    };
    match v {
        Value::String(s) => parse(s),
        Value::Datetime(dt) => parse(&dt.to_string()),
        Value::Integer(i) => u64::try_from(*i)
            .map(UnixTime::from_secs)
            .map_err(|_| config_error(format!("{path}: Unix seconds cannot be negative"))),
        v => Err(wrong_type(
            path,
            "a time (an RFC 3339 string or a TOML date-time)",
            v,
        )),
    }
}

/// The state of a `[[keys.key]]` entry, by name.
pub(super) fn state_name(state: KeyState) -> &'static str {
    match state {
        KeyState::Primary => "primary",
        KeyState::Older => "older",
        KeyState::Pending { .. } => "pending",
    }
}

fn key_spec(node: &Node<'_>, base_dir: &Path) -> Result<KeySpec, Error> {
    let id = match node.get("id") {
        None => None,
        Some(Value::String(s)) => Some(
            KeyId::parse(s.trim())
                .map_err(|e| config_error(format!("{}: {}", node.path_of("id"), e.message())))?,
        ),
        Some(v) => {
            return Err(wrong_type(
                &node.path_of("id"),
                "a string (eight hex digits, 0x and hex digits, or a decimal number)",
                v,
            ))
        }
    };
    let secret = match (node.get("secret"), node.get("secret_file")) {
        (Some(_), Some(_)) => {
            return Err(config_error(format!(
                "{}: set secret or secret_file, not both",
                node.path
            )))
        }
        (None, None) => {
            return Err(Error::new(
                ErrorKind::InvalidKey,
                format!(
                    "{}: missing secret: set secret (base64) or secret_file (a file holding it)",
                    node.path
                ),
            ))
        }
        (Some(Value::String(s)), None) => Secret::Inline(Key::from_base64(s).map_err(|e| {
            Error::new(
                e.kind(),
                format!("{}: {}", node.path_of("secret"), e.message()),
            )
        })?),
        (Some(v), None) => {
            return Err(wrong_type(
                &node.path_of("secret"),
                "a string (the secret in base64)",
                v,
            ))
        }
        (None, Some(Value::String(p))) if !p.trim().is_empty() => {
            Secret::File(base_dir.join(p.trim()))
        }
        (None, Some(Value::String(_))) => {
            return Err(config_error(format!(
                "{}: must not be empty",
                node.path_of("secret_file")
            )))
        }
        (None, Some(v)) => {
            return Err(wrong_type(
                &node.path_of("secret_file"),
                "a string (a path)",
                v,
            ))
        }
    };
    let state = match node.get("state") {
        None => None,
        Some(Value::String(s)) => Some(s.trim().to_ascii_lowercase()),
        Some(v) => {
            return Err(wrong_type(
                &node.path_of("state"),
                "\"primary\", \"older\" or \"pending\"",
                v,
            ))
        }
    };
    let activates_at = node
        .get("activates_at")
        .map(|v| time_value(v, &node.path_of("activates_at")))
        .transpose()?;
    let retired_at = node
        .get("retired_at")
        .map(|v| time_value(v, &node.path_of("retired_at")))
        .transpose()?;
    if retired_at.is_some() && state.as_deref() != Some("older") {
        return Err(config_error(format!(
            "{}: only an older key has a retirement time",
            node.path_of("retired_at")
        )));
    }
    let state = match (state.as_deref(), activates_at) {
        (Some("primary"), None) => KeyState::Primary,
        (Some("older"), None) => KeyState::Older,
        (Some("pending"), Some(activates_at)) => KeyState::Pending { activates_at },
        (Some("pending"), None) => {
            return Err(config_error(format!(
                "{}: missing: a pending key needs the time it becomes primary",
                node.path_of("activates_at")
            )))
        }
        (Some("primary" | "older"), Some(_)) => {
            return Err(config_error(format!(
                "{}: only a pending key has an activation time",
                node.path_of("activates_at")
            )))
        }
        (None, _) => {
            return Err(config_error(format!(
                "{}: missing; expected \"primary\", \"older\" or \"pending\"",
                node.path_of("state")
            )))
        }
        (Some(_), _) => {
            return Err(config_error(format!(
                "{}: expected \"primary\", \"older\" or \"pending\"",
                node.path_of("state")
            )))
        }
    };
    Ok(KeySpec {
        origin: node.path.clone(),
        id,
        secret,
        state,
    })
}
