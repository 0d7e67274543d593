//! The `[session]` settings through serde: one list of fields, read from the file's table, the
//! environment's variables, or both merged, with messages that never hold a value.
//!
//! serde's and `toml`'s own errors quote the offending value (`invalid type: string "…"`), and a
//! secret pasted into the wrong field would be that value. So the deserializers here are ours:
//! [`Problem`], their error type, turns serde's error categories into words that name what was
//! expected and the *kind* of value found, never the value; each map entry and array element adds
//! its place (`session.also_open[1]`, `SEALED_SESSION_CHUNKS`) to the error on its way out.

use std::fmt;
use std::time::Duration;

use serde::de::{
    self, value::StrDeserializer, DeserializeSeed, Deserializer, Expected, MapAccess, SeqAccess,
    Unexpected, Visitor,
};
use serde::Deserialize;
use toml::Value;
use zeroize::Zeroizing;

use super::values;
use crate::cookie_policy::{CookieLifetime, SameSite};
use crate::envelope::Mode;
use crate::SessionSettings;

/// Every session setting and the form it is read in: the one list of them in the configuration.
/// `remote` has serde build [`SessionSettings`] itself, so the compiler checks this list against
/// the struct field by field; the container `default` starts from `SessionSettings::default()`,
/// which is [`Defaults`](crate::Defaults): no default is restated here.
#[derive(Deserialize)]
#[serde(
    remote = "SessionSettings",
    default = "SessionSettings::default",
    deny_unknown_fields
)]
#[allow(
    dead_code,
    reason = "serde reads this list; the struct itself is never built"
)]
struct Fields {
    #[serde(deserialize_with = "text")]
    cookie_name: String,
    #[serde(deserialize_with = "text")]
    path: String,
    #[serde(deserialize_with = "domain")]
    domain: Option<String>,
    #[serde(deserialize_with = "same_site")]
    same_site: SameSite,
    #[serde(deserialize_with = "flag")]
    secure: bool,
    #[serde(deserialize_with = "flag")]
    http_only: bool,
    #[serde(deserialize_with = "flag")]
    partitioned: bool,
    #[serde(deserialize_with = "mode")]
    mode: Mode,
    #[serde(deserialize_with = "modes")]
    also_open: Vec<Mode>,
    #[serde(deserialize_with = "text")]
    purpose: String,
    #[serde(deserialize_with = "lifetime")]
    lifetime: Duration,
    #[serde(deserialize_with = "idle_timeout")]
    idle_timeout: Option<Duration>,
    #[serde(deserialize_with = "refresh_fraction")]
    refresh_fraction: f64,
    #[serde(deserialize_with = "cookie_lifetime")]
    cookie_lifetime: CookieLifetime,
    #[serde(deserialize_with = "chunks")]
    chunks: usize,
    #[serde(deserialize_with = "leeway")]
    leeway: Duration,
    #[serde(deserialize_with = "flag")]
    delete_rejected: bool,
}

/// Where one setting's value comes from.
#[derive(Clone)]
pub(super) enum Source {
    /// A value of the file's `[session]` table.
    File(Value),
    /// A variable's text (kept zeroized: it may be a secret set in the wrong variable).
    Env(Zeroizing<String>),
}

/// One configured setting: the field it names, where messages say it came from
/// (`session.path`, `SEALED_SESSION_PATH`), and its value.
#[derive(Clone)]
pub(super) struct Entry {
    pub(super) field: String,
    pub(super) label: String,
    pub(super) source: Source,
}

/// Deserialize `entries` over the defaults. On success every entry named a setting.
pub(super) fn session_settings(entries: &[Entry]) -> Result<SessionSettings, Problem> {
    Fields::deserialize(Entries {
        iter: entries.iter(),
        current: None,
    })
}

/// Why a setting was refused: what was expected, and where (`at`). Never the value.
#[derive(Debug)]
pub(super) struct Problem {
    /// The setting's place, built from the inside out as the error leaves each level.
    pub(super) at: String,
    pub(super) what: String,
    /// For an unknown field: the known ones.
    pub(super) known: Option<&'static [&'static str]>,
}

impl Problem {
    fn new(what: impl Into<String>) -> Self {
        Problem {
            at: String::new(),
            what: what.into(),
            known: None,
        }
    }

    fn at(mut self, place: &str) -> Self {
        self.at.insert_str(0, place);
        self
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.at, self.what)
    }
}

impl std::error::Error for Problem {}

/// What kind of value serde found, without the value.
fn kind(found: &Unexpected<'_>) -> &'static str {
    match found {
        Unexpected::Bool(_) => "a boolean",
        Unexpected::Unsigned(_) | Unexpected::Signed(_) => "an integer",
        Unexpected::Float(_) => "a float",
        Unexpected::Char(_) | Unexpected::Str(_) => "a string",
        Unexpected::Bytes(_) => "bytes",
        Unexpected::Seq => "an array",
        Unexpected::Map => "a table",
        Unexpected::Other(other) if *other == DATE_TIME => DATE_TIME,
        _ => "another kind of value",
    }
}

/// How a TOML date-time is reported (no setting takes one).
const DATE_TIME: &str = "a date-time";

/// Every method serde would fill with the value's text is replaced by one that names its kind,
/// so `custom` carries only the value-free problems of this module's readers (`values`'
/// parsers): no deserializer or derived visitor here calls it with a value.
impl de::Error for Problem {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Problem::new(msg.to_string())
    }

    fn invalid_type(found: Unexpected<'_>, expected: &dyn Expected) -> Self {
        Problem::new(format!("expected {expected}, found {}", kind(&found)))
    }

    fn invalid_value(_: Unexpected<'_>, expected: &dyn Expected) -> Self {
        Problem::new(format!("expected {expected}"))
    }

    fn invalid_length(_: usize, expected: &dyn Expected) -> Self {
        Problem::new(format!("expected {expected}"))
    }

    fn unknown_variant(_: &str, expected: &'static [&'static str]) -> Self {
        Problem::new(format!("expected one of {}", expected.join(", ")))
    }

    fn unknown_field(_: &str, expected: &'static [&'static str]) -> Self {
        Problem {
            known: Some(expected),
            ..Problem::new(format!(
                "unknown field; expected one of {}",
                expected.join(", ")
            ))
        }
    }

    fn missing_field(field: &'static str) -> Self {
        Problem::new(format!("missing {field}"))
    }

    fn duplicate_field(_: &'static str) -> Self {
        Problem::new("set twice")
    }
}

/// The settings as a map, each value read by the deserializer of its source.
struct Entries<'a> {
    iter: std::slice::Iter<'a, Entry>,
    current: Option<&'a Entry>,
}

impl<'de> MapAccess<'de> for Entries<'_> {
    type Error = Problem;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Problem> {
        let Some(entry) = self.iter.next() else {
            return Ok(None);
        };
        self.current = Some(entry);
        seed.deserialize(StrDeserializer::<Problem>::new(&entry.field))
            .map(Some)
            .map_err(|p| p.at(&entry.label))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Problem> {
        let Some(entry) = self.current else {
            return Err(Problem::new("a value without a setting"));
        };
        match &entry.source {
            Source::File(value) => seed.deserialize(TomlValue(value)),
            Source::Env(text) => seed.deserialize(EnvText(text)),
        }
        .map_err(|p| p.at(&entry.label))
    }
}

impl<'de> Deserializer<'de> for Entries<'_> {
    type Error = Problem;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Problem> {
        visitor.visit_map(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier
        ignored_any
    }
}

/// A value of the file, handed to the visitor as what it is.
struct TomlValue<'a>(&'a Value);

impl<'de> Deserializer<'de> for TomlValue<'_> {
    type Error = Problem;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Problem> {
        match self.0 {
            Value::String(s) => visitor.visit_str(s),
            Value::Integer(i) => visitor.visit_i64(*i),
            Value::Float(f) => visitor.visit_f64(*f),
            Value::Boolean(b) => visitor.visit_bool(*b),
            Value::Datetime(_) => Err(de::Error::invalid_type(
                Unexpected::Other(DATE_TIME),
                &visitor,
            )),
            Value::Array(items) => visitor.visit_seq(TomlItems {
                items: items.iter().enumerate(),
            }),
            Value::Table(_) => Err(de::Error::invalid_type(Unexpected::Map, &visitor)),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Problem> {
        visitor.visit_some(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier
        ignored_any
    }
}

/// A TOML array's items; an error names the item (`[1]`).
struct TomlItems<'a> {
    items: std::iter::Enumerate<std::slice::Iter<'a, Value>>,
}

impl<'de> SeqAccess<'de> for TomlItems<'_> {
    type Error = Problem;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Problem> {
        let Some((i, item)) = self.items.next() else {
            return Ok(None);
        };
        seed.deserialize(TomlValue(item))
            .map(Some)
            .map_err(|p| p.at(&format!("[{i}]")))
    }
}

/// A variable's text, parsed as whatever the setting asks for: in the environment every value
/// is text, so the type a field's reader asks for says how to read it.
struct EnvText<'a>(&'a str);

impl<'de> Deserializer<'de> for EnvText<'_> {
    type Error = Problem;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Problem> {
        visitor.visit_str(self.0)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Problem> {
        visitor.visit_bool(values::boolean(self.0).map_err(Problem::new)?)
    }

    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Problem> {
        let n = self.0.trim().parse::<i64>();
        visitor.visit_i64(n.map_err(|_| Problem::new("expected a whole number"))?)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Problem> {
        let f = self.0.trim().parse::<f64>();
        visitor.visit_f64(f.map_err(|_| Problem::new("expected a number"))?)
    }

    /// A list is comma-separated; empty items are skipped.
    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Problem> {
        visitor.visit_seq(EnvItems(
            self.0.split(',').map(str::trim).filter(|s| !s.is_empty()),
        ))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Problem> {
        visitor.visit_some(self)
    }

    serde::forward_to_deserialize_any! {
        i8 i16 i32 i128 u8 u16 u32 u64 u128 f32 char str string bytes byte_buf
        unit unit_struct newtype_struct tuple tuple_struct map struct enum identifier
        ignored_any
    }
}

/// The items of a comma-separated variable.
struct EnvItems<I>(I);

impl<'de, 'a, I: Iterator<Item = &'a str>> SeqAccess<'de> for EnvItems<I> {
    type Error = Problem;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Problem> {
        self.0
            .next()
            .map(|item| seed.deserialize(EnvText(item)))
            .transpose()
    }
}

// How each setting is read. Every parser is one of `values`, whose problems never hold the
// input; what a reader `expect`s is the "expected …" of a wrong-typed value.

/// Text, parsed by `parse`.
struct Parsed<T>(fn(&str) -> Result<T, String>);

impl<T> Visitor<'_> for Parsed<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<T, E> {
        (self.0)(text).map_err(E::custom)
    }
}

fn parsed<'de, D: Deserializer<'de>, T>(
    d: D,
    parse: fn(&str) -> Result<T, String>,
) -> Result<T, D::Error> {
    d.deserialize_str(Parsed(parse))
}

fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    parsed(d, values::non_empty)
}

fn domain<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    parsed(d, |t| values::non_empty(t).map(Some))
}

fn same_site<'de, D: Deserializer<'de>>(d: D) -> Result<SameSite, D::Error> {
    parsed(d, values::same_site)
}

fn mode<'de, D: Deserializer<'de>>(d: D) -> Result<Mode, D::Error> {
    parsed(d, values::mode)
}

fn lifetime<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    parsed(d, values::lifetime)
}

fn idle_timeout<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    parsed(d, values::idle_timeout)
}

fn leeway<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    parsed(d, values::leeway)
}

fn cookie_lifetime<'de, D: Deserializer<'de>>(d: D) -> Result<CookieLifetime, D::Error> {
    parsed(d, values::cookie_lifetime)
}

/// A boolean (in the environment, any of [`values::boolean`]'s spellings).
struct Flag;

impl Visitor<'_> for Flag {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("true or false")
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<bool, E> {
        Ok(b)
    }
}

fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    d.deserialize_bool(Flag)
}

/// The number of cookies: a whole number, checked by [`values::chunks`].
struct Chunks;

impl Visitor<'_> for Chunks {
    type Value = usize;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a whole number")
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<usize, E> {
        values::chunks(n).map_err(E::custom)
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<usize, E> {
        self.visit_i64(i64::try_from(n).unwrap_or(i64::MAX))
    }
}

fn chunks<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    d.deserialize_i64(Chunks)
}

/// The refresh fraction: a number (an integer too: `1`), checked by [`values::refresh_fraction`].
struct Fraction;

impl Visitor<'_> for Fraction {
    type Value = f64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number from 0 to 1")
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
        values::refresh_fraction(v).map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
        self.visit_f64(i32::try_from(v).map_or(f64::NAN, f64::from))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
        self.visit_f64(i32::try_from(v).map_or(f64::NAN, f64::from))
    }
}

fn refresh_fraction<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    d.deserialize_f64(Fraction)
}

/// A list of mode names.
struct Modes;

/// One mode name of a list.
struct ModeName(Mode);

impl<'de> Deserialize<'de> for ModeName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        mode(d).map(ModeName)
    }
}

impl<'de> Visitor<'de> for Modes {
    type Value = Vec<Mode>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of mode names")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Vec<Mode>, A::Error> {
        let mut modes = Vec::new();
        while let Some(ModeName(m)) = items.next_element()? {
            modes.push(m);
        }
        Ok(modes)
    }
}

fn modes<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Mode>, D::Error> {
    d.deserialize_seq(Modes)
}
