//! The `SEALED_SESSION_*` environment variables: one per setting, plus the key list.

use std::path::PathBuf;

use zeroize::Zeroizing;

use super::settings::{Entry, Problem, Source};
use super::{config_error, values, KeySource, KeySpec, Layer, Secret, Settings};
use crate::error::{Error, ErrorKind};
use crate::keys::{parse_key_list, KeyListProblem};

/// Every variable starts with this.
pub(super) const PREFIX: &str = "SEALED_SESSION_";
/// The key list variable.
pub(super) const KEYS: &str = "SEALED_SESSION_KEYS";
/// The key-list file variable.
pub(super) const KEYS_FILE: &str = "SEALED_SESSION_KEYS_FILE";
/// The revoke-all cutoff.
const REVOKE_BEFORE: &str = "SEALED_SESSION_REVOKE_BEFORE";
/// The configuration file, when the loader is given none.
pub(super) const CONFIG: &str = "SEALED_SESSION_CONFIG";

/// The process's `SEALED_SESSION_*` variables. Others are not read at all.
///
/// # Errors
/// [`ErrorKind::InvalidConfig`] for one of ours whose value is not UTF-8.
pub(super) fn process_vars() -> Result<Vec<(String, Zeroizing<String>)>, Error> {
    let mut out = Vec::new();
    for (name, value) in std::env::vars_os() {
        let Some(name) = name.to_str().filter(|n| n.starts_with(PREFIX)) else {
            continue;
        };
        let value = value
            .into_string()
            .map_err(|_| config_error(format!("{name}: the value is not valid UTF-8")))?;
        out.push((name.to_owned(), Zeroizing::new(value)));
    }
    Ok(out)
}

/// The variable of a session setting.
fn variable(field: &str) -> String {
    format!("{PREFIX}{}", field.to_ascii_uppercase())
}

/// A session setting's problem, named by its variable; an unknown variable lists the known ones.
fn problem(p: &Problem) -> Error {
    match p.known {
        Some(fields) => {
            let mut names: Vec<String> = [CONFIG, KEYS, KEYS_FILE, REVOKE_BEFORE]
                .iter()
                .map(|s| (*s).to_owned())
                .collect();
            names.extend(fields.iter().map(|f| variable(f)));
            config_error(format!(
                "{}: unknown variable; the known ones are {}",
                p.at,
                names.join(", ")
            ))
        }
        None => config_error(p.to_string()),
    }
}

/// Read the variables into a layer, and the `SEALED_SESSION_CONFIG` path if set. Variables
/// without our prefix are ignored; empty ones count as unset.
///
/// # Errors
/// [`ErrorKind::InvalidConfig`] naming the variable for an unknown name or a malformed value;
/// [`ErrorKind::InvalidKey`] for a key entry that is not acceptable. No message contains a value.
pub(super) fn parse<I>(vars: I) -> Result<(Layer, Option<PathBuf>), Error>
where
    I: IntoIterator<Item = (String, Zeroizing<String>)>,
{
    let mut layer = Layer::default();
    let mut config = None;
    let mut keys_file = None;
    for (name, value) in vars {
        let Some(suffix) = name.strip_prefix(PREFIX) else {
            continue;
        };
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        match name.as_str() {
            CONFIG => config = Some(PathBuf::from(value)),
            KEYS => {
                layer.keys = Some(KeySource::Specs {
                    label: KEYS,
                    specs: key_list(value, KEYS)?,
                });
            }
            KEYS_FILE => keys_file = Some(PathBuf::from(value)),
            REVOKE_BEFORE => {
                layer.revoke_before = Some(
                    values::parse_time(value)
                        .map_err(|e| config_error(format!("{name}: {}", e.message())))?,
                );
            }
            _ => {
                // A session setting, `SEALED_SESSION_` and the field in upper case. Any other
                // spelling keeps its whole name as the field, which no setting has: the
                // settings' reader then reports it as unknown.
                let field = if suffix.bytes().any(|b| b.is_ascii_lowercase()) {
                    name.clone()
                } else {
                    suffix.to_ascii_lowercase()
                };
                layer.session.retain(|e| e.field != field);
                layer.session.push(Entry {
                    field,
                    label: values::field_name(&name),
                    source: Source::Env(Zeroizing::new(value.to_owned())),
                });
            }
        }
        layer.names.push(name.clone());
    }
    if let Some(path) = keys_file {
        if layer.keys.is_some() {
            return Err(config_error(format!(
                "{KEYS} and {KEYS_FILE} are both set; set one"
            )));
        }
        layer.keys = Some(KeySource::ListFile(path));
    }
    // Checked now, so a bad variable fails the load whatever the file says; applied over the
    // file's settings when the two are merged.
    Settings::from_entries(&layer.session).map_err(|p| problem(&p))?;
    layer.names.sort();
    Ok((layer, config))
}

/// A key list ([`crate::keys::parse_key_list`]), each entry named `label[n]` in messages.
///
/// # Errors
/// [`ErrorKind::InvalidKey`] for an entry that is not of that form, or whose id or secret is not
/// acceptable; [`ErrorKind::InvalidConfig`] for a malformed activation time. Entries are named
/// by position, never by content.
pub(super) fn key_list(list: &str, label: &'static str) -> Result<Vec<KeySpec>, Error> {
    let keys = parse_key_list(list).map_err(|e| {
        let kind = match e.problem {
            KeyListProblem::Time => ErrorKind::InvalidConfig,
            _ => ErrorKind::InvalidKey,
        };
        Error::new(kind, format!("{label}[{}]: {}", e.entry, e.problem))
    })?;
    Ok(keys
        .into_iter()
        .enumerate()
        .map(|(n, (key, state))| KeySpec {
            origin: format!("{label}[{n}]"),
            id: Some(key.id()),
            secret: Secret::Inline(key),
            state,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::UnixTime;
    use crate::keys::{Key, KeyId, KeyState};

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, Zeroizing<String>)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Zeroizing::new((*v).to_owned())))
            .collect()
    }

    #[test]
    fn every_session_field_has_a_variable() {
        let samples = [
            ("COOKIE_NAME", "id"),
            ("PATH", "/x"),
            ("DOMAIN", "example.com"),
            ("SAME_SITE", "strict"),
            ("SECURE", "off"),
            ("HTTP_ONLY", "off"),
            ("PARTITIONED", "on"),
            ("MODE", "xchacha20poly1305"),
            ("ALSO_OPEN", "xchacha20poly1305, signed-hmac-sha256"),
            ("PURPOSE", "other"),
            ("LIFETIME", "30s"),
            ("IDLE_TIMEOUT", "off"),
            ("REFRESH_FRACTION", "0.5"),
            ("COOKIE_LIFETIME", "30d"),
            ("CHUNKS", "3"),
            ("LEEWAY", "0s"),
            ("DELETE_REJECTED", "no"),
        ];
        for (suffix, sample) in samples {
            let name = format!("{PREFIX}{suffix}");
            let (layer, _) = parse(vars(&[(name.as_str(), sample)])).unwrap();
            let settings = Settings::from_entries(&layer.session).unwrap();
            assert_ne!(
                settings.values,
                Settings::default().values,
                "{name} did not set anything"
            );
        }
        // The samples cover every setting: the unknown-variable message lists them all.
        let e = parse(vars(&[("SEALED_SESSION_X", "1")])).err().unwrap();
        let listed = e.message().matches(PREFIX).count();
        assert_eq!(listed, samples.len() + 5, "{e}");
    }

    #[test]
    fn key_list_states_and_comments() {
        let a = Key::generate().to_base64();
        let b = Key::generate().to_base64();
        let c = Key::generate().to_base64();
        let list = format!(
            "# keys\n2:{}@2030-01-01T00:00:00Z\n1:{} , 3:{} # old\n",
            a.as_str(),
            b.as_str(),
            c.as_str()
        );
        let specs = key_list(&list, KEYS).unwrap();
        let states: Vec<_> = specs.iter().map(|s| (s.id, s.state)).collect();
        assert_eq!(
            states,
            vec![
                (
                    Some(KeyId::new(2)),
                    KeyState::Pending {
                        activates_at: UnixTime::from_secs(1_893_456_000)
                    }
                ),
                (Some(KeyId::new(1)), KeyState::Primary),
                (Some(KeyId::new(3)), KeyState::Older),
            ]
        );
        let e = key_list(&format!("1:{}, 2", a.as_str()), KEYS)
            .err()
            .unwrap();
        assert_eq!(
            e.message(),
            "SEALED_SESSION_KEYS[1]: expected id:secret or id:secret@activation-time"
        );
        let e = key_list("x:AAAA", KEYS).err().unwrap();
        assert!(
            e.message().starts_with("SEALED_SESSION_KEYS[0]: a key id"),
            "{e}"
        );
        let e = key_list("1:QUFBQUFBQUFBQUFBQUFBQUFB", KEYS).err().unwrap();
        assert!(!e.message().contains("QUFB"), "{e}");
    }

    #[test]
    fn unknown_and_empty_variables() {
        let e = parse(vars(&[("SEALED_SESSION_COOKIENAME", "x")]))
            .err()
            .unwrap();
        assert!(
            e.message()
                .starts_with("SEALED_SESSION_COOKIENAME: unknown variable"),
            "{e}"
        );
        let e = parse(vars(&[("SEALED_SESSION_cookie_name", "x")]))
            .err()
            .unwrap();
        assert!(e.message().contains("unknown variable"), "{e}");
        let (layer, config) = parse(vars(&[
            ("SEALED_SESSION_SECURE", "  "),
            ("OTHER", "x"),
            ("SEALED_SESSION_CONFIG", "/etc/s.toml"),
        ]))
        .unwrap();
        assert!(layer.session.is_empty());
        assert_eq!(config, Some(PathBuf::from("/etc/s.toml")));
    }
}
