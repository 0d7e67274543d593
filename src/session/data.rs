//! The session's entries as the sealed payload holds them: each value is kept as its compact
//! JSON text, and the entries of an opened cookie point into the payload's text instead of being
//! copied out of it. A request parses only the entries it reads (`get`); sealing writes every
//! entry back verbatim, so data a handler never touches is neither parsed, copied nor
//! serialized again.
//!
//! The payload is `{"id":…,"lineage":…,"data":{…}}` (SECURITY.md, "Session payload"): `lineage`
//! is omitted while it equals `id`, and read as `id` when absent. It is read with `serde_json`
//! (keys and values borrowed from the text) and written here, piece by piece, with `serde_json`
//! escaping the keys and the codec checking each value's depth and the total size.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::SessionId;
use crate::codec::Codec;
use crate::error::Error;

/// Where a key's or a value's text is.
#[derive(Clone)]
enum Text {
    /// `source[start..end]`, as the cookie held it.
    Span(u32, u32),
    /// Written in this request, or a key that had escapes to undo.
    Owned(String),
}

#[derive(Clone)]
struct Entry {
    key: Text,
    value: Text,
}

/// The entries, sorted by key, each key once.
#[derive(Clone, Default)]
pub(crate) struct Data {
    /// The text of the payload the cookie opened to (empty for a new session): what `Span`s
    /// index.
    source: String,
    entries: Vec<Entry>,
}

/// A payload that opened.
pub(crate) struct OpenedPayload {
    pub(crate) id: SessionId,
    pub(crate) lineage: Option<SessionId>,
    pub(crate) data: Data,
}

impl Data {
    /// Read the payload `source` (its size and depth already checked by the codec, which also
    /// parses it).
    pub(crate) fn open(codec: &Codec, source: String) -> Result<OpenedPayload, Error> {
        let payload: PayloadIn<'_> = codec.parse(&source)?;
        let base = source.as_ptr() as usize;
        // The borrowed text's place in `source`, checked by slicing (so always in bounds).
        let span = |s: &str| -> Option<Text> {
            let start = (s.as_ptr() as usize).checked_sub(base)?;
            let end = start.checked_add(s.len())?;
            let within = source.get(start..end)?;
            (within.as_ptr() == s.as_ptr()).then_some(())?;
            Some(Text::Span(
                u32::try_from(start).ok()?,
                u32::try_from(end).ok()?,
            ))
        };
        let (id, lineage) = (payload.id, payload.lineage);
        let mut entries = Vec::with_capacity(payload.data.0.len());
        for (key, value) in payload.data.0 {
            let key = match key {
                Cow::Borrowed(k) => span(k).unwrap_or_else(|| Text::Owned(k.into())),
                Cow::Owned(k) => Text::Owned(k),
            };
            let value = span(value.get()).unwrap_or_else(|| Text::Owned(value.get().into()));
            entries.push(Entry { key, value });
        }
        let mut data = Data { source, entries };
        data.sort_keeping_last();
        Ok(OpenedPayload { id, lineage, data })
    }

    /// Entries from elsewhere (a migrated legacy session): keys and compact JSON texts.
    pub(crate) fn from_entries(entries: impl IntoIterator<Item = (String, String)>) -> Data {
        let mut data = Data {
            source: String::new(),
            entries: entries
                .into_iter()
                .map(|(k, v)| Entry {
                    key: Text::Owned(k),
                    value: Text::Owned(v),
                })
                .collect(),
        };
        data.sort_keeping_last();
        data
    }

    /// Sort by key; of equal keys the last one stays, as a JSON object's last duplicate wins in
    /// `serde_json` maps. Our own payloads are written sorted, so this only checks.
    fn sort_keeping_last(&mut self) {
        let sorted = self.entries.windows(2).all(|w| match w {
            [a, b] => self.text(&a.key) < self.text(&b.key),
            _ => true,
        });
        if sorted {
            return;
        }
        let source = &self.source;
        let key = |e: &Entry| text_in(source, &e.key).to_owned();
        self.entries.reverse();
        // Stable: of equal keys the one that came last is now first, and dedup keeps firsts.
        self.entries.sort_by_cached_key(key);
        self.entries
            .dedup_by(|later, kept| text_in(source, &later.key) == text_in(source, &kept.key));
    }

    fn text<'a>(&'a self, t: &'a Text) -> &'a str {
        text_in(&self.source, t)
    }

    fn find(&self, key: &str) -> Result<usize, usize> {
        self.entries
            .binary_search_by(|e| self.text(&e.key).cmp(key))
    }

    /// The compact JSON text under `key`.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        let i = self.find(key).ok()?;
        self.entries.get(i).map(|e| self.text(&e.value))
    }

    pub(crate) fn contains_key(&self, key: &str) -> bool {
        self.find(key).is_ok()
    }

    /// Store `value` (compact JSON text) under `key`; `false` (and nothing stored) when `keep_equal`
    /// and the text there is the same.
    pub(crate) fn insert(&mut self, key: &str, value: String, keep_equal: bool) -> bool {
        match self.find(key) {
            Ok(i) => {
                let Some(e) = self.entries.get(i) else {
                    return false;
                };
                if keep_equal && self.text(&e.value) == value {
                    return false;
                }
                if let Some(e) = self.entries.get_mut(i) {
                    e.value = Text::Owned(value);
                }
            }
            Err(i) => self.entries.insert(
                i,
                Entry {
                    key: Text::Owned(key.into()),
                    value: Text::Owned(value),
                },
            ),
        }
        true
    }

    /// Remove the entry under `key`, returning its text.
    pub(crate) fn remove(&mut self, key: &str) -> Option<String> {
        let i = self.find(key).ok()?;
        let e = self.entries.remove(i);
        Some(self.text(&e.value).to_owned())
    }

    pub(crate) fn clear(&mut self) {
        self.entries.clear();
        self.source.clear();
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The keys, in order.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|e| self.text(&e.key))
    }

    /// Keys and values (compact JSON text), in key order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries
            .iter()
            .map(|e| (self.text(&e.key), self.text(&e.value)))
    }

    /// Append the payload `{"id":…,"lineage":…,"data":{…}}` to `out`: the same bytes
    /// `serde_json` writes for it, with the codec's depth limit on every value and its size
    /// limit on the whole.
    pub(crate) fn write_payload(
        &self,
        out: &mut Vec<u8>,
        id: &SessionId,
        lineage: Option<&SessionId>,
        codec: &Codec,
    ) -> Result<(), Error> {
        // The values sit inside two objects.
        const VALUE_DEPTH: usize = 2;
        codec.check_structure_depth(VALUE_DEPTH)?;
        let start = out.len();
        out.extend_from_slice(br#"{"id":""#);
        out.extend_from_slice(&id.encode());
        if let Some(lineage) = lineage {
            out.extend_from_slice(br#"","lineage":""#);
            out.extend_from_slice(&lineage.encode());
        }
        out.extend_from_slice(br#"","data":{"#);
        for (i, e) in self.entries.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            // A value read from the opened payload passed the same codec's check, at the
            // same depth, when the cookie was opened.
            let depth = match e.value {
                Text::Span(..) => None,
                Text::Owned(_) => Some(VALUE_DEPTH),
            };
            // A key read from the payload without escapes has nothing to escape (JSON allows
            // no raw `"`, `\` or control character in a string): its text is what
            // `serde_json` would write.
            let plain_key = matches!(e.key, Text::Span(..));
            codec.write_raw_member(
                out,
                self.text(&e.key),
                plain_key,
                self.text(&e.value),
                depth,
            )?;
        }
        out.extend_from_slice(b"}}");
        codec.check_written(out.len().saturating_sub(start))
    }
}

fn text_in<'a>(source: &'a str, t: &'a Text) -> &'a str {
    match t {
        Text::Span(start, end) => source
            .get(*start as usize..*end as usize)
            .unwrap_or_default(),
        Text::Owned(s) => s,
    }
}

impl fmt::Debug for Data {
    /// The keys only: values may be secrets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.keys()).finish()
    }
}

impl PartialEq for Data {
    fn eq(&self, other: &Data) -> bool {
        self.iter().eq(other.iter())
    }
}

/// The payload as read, borrowing from its text.
#[derive(Deserialize)]
struct PayloadIn<'a> {
    id: SessionId,
    #[serde(default)]
    lineage: Option<SessionId>,
    #[serde(borrow)]
    data: EntriesIn<'a>,
}

/// The `data` object's members in order, keys borrowed unless they had escapes.
struct EntriesIn<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for EntriesIn<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct EntriesVisitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for EntriesVisitor<'a> {
            type Value = EntriesIn<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of session entries")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(0).min(64));
                while let Some((KeyIn(k), v)) = map.next_entry::<KeyIn<'a>, &'a RawValue>()? {
                    // Kept as text, but only text `serde_json` reads as a value, as when entries
                    // were parsed into `Value`s: a number out of range (`1e400`) or a lone
                    // surrogate (`"\ud800"`) refuses the payload, as `Sealer::open_at` does.
                    // A string without a backslash has no escape to check (the usual long
                    // value), so only the rest is read again.
                    let text = v.get();
                    let plain_string =
                        text.starts_with('"') && memchr::memchr(b'\\', text.as_bytes()).is_none();
                    if !plain_string {
                        serde_json::from_str::<Valid>(text).map_err(|_| {
                            serde::de::Error::custom("a session value serde_json cannot read")
                        })?;
                    }
                    out.push((k, v));
                }
                Ok(EntriesIn(out))
            }
        }
        d.deserialize_map(EntriesVisitor(std::marker::PhantomData))
    }
}

/// Any JSON value, read the way `serde_json` reads a `Value` (numbers converted, strings
/// unescaped, so its range and surrogate checks run) and thrown away as it is read. serde's
/// `IgnoredAny` would skip nested values without those checks.
struct Valid;

impl<'de> Deserialize<'de> for Valid {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Valid)
    }
}

impl<'de> Visitor<'de> for Valid {
    type Value = Valid;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Valid, E> {
        Ok(Valid)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Valid, E> {
        Ok(Valid)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Valid, E> {
        Ok(Valid)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Valid, E> {
        Ok(Valid)
    }
    fn visit_str<E>(self, _: &str) -> Result<Valid, E> {
        Ok(Valid)
    }
    fn visit_unit<E>(self) -> Result<Valid, E> {
        Ok(Valid)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Valid, A::Error> {
        while seq.next_element::<Valid>()?.is_some() {}
        Ok(Valid)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Valid, A::Error> {
        while map.next_entry::<Valid, Valid>()?.is_some() {}
        Ok(Valid)
    }
}

/// A key, borrowed from the text when it has no escapes.
struct KeyIn<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for KeyIn<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for KeyVisitor<'a> {
            type Value = KeyIn<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(KeyIn(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
                Ok(KeyIn(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E>(self, s: String) -> Result<Self::Value, E> {
                Ok(KeyIn(Cow::Owned(s)))
            }
        }
        d.deserialize_str(KeyVisitor(std::marker::PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ID: &str = "AAAAAAAAAAAAAAAAAAAAAA";

    fn open(text: &str) -> OpenedPayload {
        Data::open(&Codec::new(), text.to_owned()).unwrap()
    }

    fn write(data: &Data, lineage: Option<&SessionId>) -> String {
        let mut out = Vec::new();
        let id = SessionId::parse(ID).unwrap();
        data.write_payload(&mut out, &id, lineage, &Codec::new())
            .unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn an_opened_payload_is_written_back_byte_for_byte() {
        let text = "{\"id\":\"AAAAAAAAAAAAAAAAAAAAAA\",\"data\":{\"a\\\"b\":[1,{\"x\":null}],\
                    \"count\":3,\"user\":\"ann\",\"ü\x7f☃\":true}}";
        let opened = open(text);
        assert_eq!(opened.data.len(), 4);
        assert_eq!(opened.data.get("ü\x7f☃"), Some("true"));
        assert_eq!(opened.data.get("a\"b"), Some(r#"[1,{"x":null}]"#));
        assert_eq!(opened.data.get("count"), Some("3"));
        assert_eq!(write(&opened.data, None), text);
    }

    #[test]
    fn writing_matches_serde_json_for_every_key_spelling() {
        let mut data = Data::default();
        for (k, v) in [
            ("plain", json!(1)),
            ("quote\"back\\slash", json!("v")),
            ("ctl\u{1}\n\t", json!({"b": [true], "a": null})),
            ("é ünicode ☃", json!(-1.5)),
            ("", json!([])),
        ] {
            let text = serde_json::value::to_raw_value(&v).unwrap();
            data.insert(k, text.get().to_owned(), false);
        }
        let lineage = SessionId::parse("BBBBBBBBBBBBBBBBBBBBBA").unwrap();
        let expected = json!({
            "id": ID,
            "lineage": "BBBBBBBBBBBBBBBBBBBBBA",
            "data": data.iter().map(|(k, v)| (k.to_owned(), serde_json::from_str(v).unwrap()))
                .collect::<serde_json::Map<String, serde_json::Value>>(),
        });
        // serde_json writes a Map's keys sorted, as Data keeps them; "id" < "lineage" < "data"
        // is not sorted, so compare as values and check the field order separately.
        let written = write(&data, Some(&lineage));
        let parsed: serde_json::Value = serde_json::from_str(&written).unwrap();
        assert_eq!(parsed, expected);
        assert!(written.starts_with(r#"{"id":"AAAAAAAAAAAAAAAAAAAAAA","lineage":"BBBB"#));
        let reopened = open(&written);
        assert_eq!(reopened.data, data);
        assert_eq!(reopened.lineage, Some(lineage));
        assert_eq!(write(&reopened.data, Some(&lineage)), written);
    }

    #[test]
    fn escaped_keys_are_unescaped_and_found() {
        let opened = open(r#"{"id":"AAAAAAAAAAAAAAAAAAAAAA","data":{"\u0061":1,"b\n":2}}"#);
        assert_eq!(opened.data.get("a"), Some("1"));
        assert_eq!(opened.data.get("b\n"), Some("2"));
        assert_eq!(opened.data.keys().collect::<Vec<_>>(), ["a", "b\n"]);
    }

    #[test]
    fn unsorted_and_duplicate_keys_sort_and_the_last_duplicate_wins() {
        let opened =
            open(r#"{"id":"AAAAAAAAAAAAAAAAAAAAAA","data":{"b":1,"a":2,"b":3,"c":4,"a":5}}"#);
        assert_eq!(
            opened.data.iter().collect::<Vec<_>>(),
            [("a", "5"), ("b", "3"), ("c", "4")]
        );
    }

    #[test]
    fn insert_remove_and_clear_keep_the_order() {
        let mut data = open(r#"{"id":"AAAAAAAAAAAAAAAAAAAAAA","data":{"b":1,"d":2}}"#).data;
        data.insert("c", "3".into(), false);
        data.insert("a", "0".into(), false);
        data.insert("d", "4".into(), false);
        assert_eq!(
            data.iter().collect::<Vec<_>>(),
            [("a", "0"), ("b", "1"), ("c", "3"), ("d", "4")]
        );
        assert_eq!(data.remove("b").as_deref(), Some("1"));
        assert_eq!(data.remove("b"), None);
        assert!(data.contains_key("c") && !data.contains_key("b"));
        data.clear();
        assert!(data.is_empty());
        assert_eq!(data.get("a"), None);
    }

    #[test]
    fn limits_hold_when_writing() {
        let mut data = Data::default();
        data.insert("deep", "[[[1]]]".into(), false);
        let id = SessionId::parse(ID).unwrap();
        // The value starts at depth 2: [[[ takes it to 5.
        let mut out = Vec::new();
        assert!(data
            .write_payload(&mut out, &id, None, &Codec::new().with_max_depth(5))
            .is_ok());
        let e = data
            .write_payload(&mut Vec::new(), &id, None, &Codec::new().with_max_depth(4))
            .unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::PayloadTooDeep);
        let e = Data::default()
            .write_payload(&mut Vec::new(), &id, None, &Codec::new().with_max_depth(1))
            .unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::PayloadTooDeep);
        let e = data
            .write_payload(
                &mut Vec::new(),
                &id,
                None,
                &Codec::new().with_max_bytes(out.len() - 1),
            )
            .unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::PayloadTooLarge);
    }

    #[test]
    fn values_serde_json_cannot_read_refuse_the_payload_as_the_sealer_does() {
        for bad in [
            "1e400",
            "-1e400",
            r#""\ud800""#,
            r#"[1,{"a":"\udc00"}]"#,
            r#"{"\ud800":1}"#,
            r#"[[[1e999]]]"#,
        ] {
            let text = format!(r#"{{"id":"{ID}","data":{{"a":{bad},"b":2}}}}"#);
            assert!(
                Data::open(&Codec::new(), text.clone()).is_err(),
                "{bad} opened"
            );
            assert!(serde_json::from_str::<serde_json::Value>(&text).is_err());
        }
        for good in [
            "123456789012345678901234567890",
            "1e300",
            r#""\ud83d\ude00""#,
            r#"{"k":[null,true,-0.5,"x"]}"#,
        ] {
            let text = format!(r#"{{"id":"{ID}","data":{{"a":{good}}}}}"#);
            assert_eq!(open(&text).data.get("a"), Some(good), "{good}");
        }
    }

    #[test]
    fn debug_shows_keys_only() {
        let data = open(r#"{"id":"AAAAAAAAAAAAAAAAAAAAAA","data":{"user":"secret-value"}}"#).data;
        let shown = format!("{data:?}");
        assert!(shown.contains("user") && !shown.contains("secret-value"));
    }
}
