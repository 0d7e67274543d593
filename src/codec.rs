//! The payload codec: serde-typed JSON with limits.
//!
//! Session data and cache entries are JSON through `serde_json`, never a self-describing object
//! format: nothing in the bytes can name a type to instantiate, so decoding can only ever produce
//! the type the application asked for, or a `serde_json::Value`.
//!
//! Limits are checked *before* parsing (size, then nesting depth by a linear scan that allocates
//! nothing) and again by the parser (UTF-8, syntax, no trailing data). Encoding checks the same
//! limits on its output, so anything this codec encodes, it will also decode.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{Error, ErrorKind};

/// The codec id written in the envelope's flags for JSON.
pub(crate) const CODEC_JSON: u8 = 1;

/// The largest nesting depth `serde_json` itself accepts; ours must not exceed it.
const SERDE_JSON_DEPTH: usize = 127;

/// JSON encoding and decoding with a byte limit and a nesting-depth limit.
///
/// ```
/// use sealed_session::Codec;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize, PartialEq, Debug)]
/// struct Cart { items: Vec<u32> }
///
/// let codec = Codec::new();
/// let bytes = codec.encode(&Cart { items: vec![1, 2] })?;
/// assert_eq!(bytes, br#"{"items":[1,2]}"#);
/// assert_eq!(codec.decode::<Cart>(&bytes)?, Cart { items: vec![1, 2] });
///
/// // Over-deep input is refused before the parser sees it.
/// let deep = "[".repeat(1000);
/// assert!(codec.decode_value(deep.as_bytes()).is_err());
/// # Ok::<(), sealed_session::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Codec {
    max_bytes: usize,
    max_depth: usize,
}

impl Default for Codec {
    fn default() -> Self {
        Codec::new()
    }
}

impl Codec {
    /// Default byte limit: a cookie cannot carry more than 4096 bytes, and base64 plus the
    /// envelope leave about 3 KiB of plaintext; 16 KiB leaves room for chunked cookies and cache
    /// entries while keeping a hostile payload cheap to refuse.
    pub const DEFAULT_MAX_BYTES: usize = 16 * 1024;
    /// Default depth limit: session data is a shallow map; 32 levels is generous for it and far
    /// below `serde_json`'s own recursion limit of 128.
    pub const DEFAULT_MAX_DEPTH: usize = 32;

    /// A codec with the default limits.
    pub const fn new() -> Self {
        Codec {
            max_bytes: Self::DEFAULT_MAX_BYTES,
            max_depth: Self::DEFAULT_MAX_DEPTH,
        }
    }

    /// Set the largest encoded size accepted, in bytes (default [`DEFAULT_MAX_BYTES`](Self::DEFAULT_MAX_BYTES)).
    pub const fn with_max_bytes(mut self, max_bytes: usize) -> Self {
        self.max_bytes = max_bytes;
        self
    }

    /// Set the deepest nesting of arrays and objects accepted (default
    /// [`DEFAULT_MAX_DEPTH`](Self::DEFAULT_MAX_DEPTH)); values above 127 are lowered to 127,
    /// the parser's own limit, so the two never disagree.
    pub const fn with_max_depth(mut self, max_depth: usize) -> Self {
        self.max_depth = if max_depth > SERDE_JSON_DEPTH {
            SERDE_JSON_DEPTH
        } else {
            max_depth
        };
        self
    }

    /// The byte limit.
    pub const fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    /// The depth limit.
    pub const fn max_depth(&self) -> usize {
        self.max_depth
    }

    /// Encode a value as compact JSON.
    ///
    /// # Errors
    /// [`ErrorKind::Codec`] if the value cannot be represented in JSON (a map with non-string
    /// keys, a failing `Serialize` impl); [`ErrorKind::PayloadTooLarge`] or
    /// [`ErrorKind::PayloadTooDeep`] if the output breaks a limit.
    pub fn encode<T: Serialize + ?Sized>(&self, value: &T) -> Result<Vec<u8>, Error> {
        let mut bytes = Vec::with_capacity(128);
        self.encode_into(&mut bytes, value)?;
        Ok(bytes)
    }

    /// Append the compact JSON of `value` to `out`, checking the same limits as
    /// [`encode`](Self::encode) on what was appended. The nesting depth is counted while
    /// serializing, not by scanning the output again: serde's events are the structure. On an
    /// error, `out` may hold part of the value.
    pub(crate) fn encode_into<T: Serialize + ?Sized>(
        &self,
        out: &mut Vec<u8>,
        value: &T,
    ) -> Result<(), Error> {
        let start = out.len();
        let mut exceeded = false;
        let formatter = DepthLimit {
            depth: 0,
            max: self.max_depth,
            exceeded: &mut exceeded,
        };
        let result = value.serialize(&mut serde_json::Serializer::with_formatter(
            &mut *out, formatter,
        ));
        if exceeded {
            return Err(too_deep(self.max_depth));
        }
        result.map_err(json_error)?;
        let len = out.len().saturating_sub(start);
        if len > self.max_bytes {
            return Err(too_large(len, self.max_bytes));
        }
        Ok(())
    }

    /// Decode JSON into `T`.
    ///
    /// # Errors
    /// [`ErrorKind::PayloadTooLarge`] or [`ErrorKind::PayloadTooDeep`] before parsing;
    /// [`ErrorKind::Codec`] for anything the parser refuses: invalid UTF-8 or JSON, lone
    /// surrogates, numbers out of range for `T`, duplicate fields in a struct, trailing data, a
    /// byte-order mark.
    pub fn decode<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T, Error> {
        self.check(bytes)?;
        let text = std::str::from_utf8(bytes).map_err(|e| {
            Error::new(
                ErrorKind::Codec,
                format!("invalid UTF-8 at byte {}", e.valid_up_to()),
            )
        })?;
        self.parse(text)
    }

    /// Parse `text`, whose limits [`check`](Self::check) has already checked, into `T`,
    /// which may borrow from it.
    pub(crate) fn parse<'a, T: serde::Deserialize<'a>>(&self, text: &'a str) -> Result<T, Error> {
        serde_json::from_str(text).map_err(json_error)
    }

    /// Append `"key":raw` to `out`: `key` escaped as `serde_json` escapes it (or as it is, when
    /// `key_is_plain`: known to hold nothing to escape), `raw` (compact JSON text) as it is,
    /// once its nesting from `depth` is within the limit. `depth` is `None` for text this codec
    /// has already checked at that depth (read from a payload that passed
    /// [`check`](Self::check)).
    pub(crate) fn write_raw_member(
        &self,
        out: &mut Vec<u8>,
        key: &str,
        key_is_plain: bool,
        raw: &str,
        depth: Option<usize>,
    ) -> Result<(), Error> {
        if key_is_plain {
            out.push(b'"');
            out.extend_from_slice(key.as_bytes());
            out.push(b'"');
        } else {
            serde_json::to_writer(&mut *out, key).map_err(json_error)?;
        }
        out.push(b':');
        // A scalar nests nothing.
        let nests = matches!(raw.as_bytes().first(), Some(b'[' | b'{'));
        if let Some(depth) = depth.filter(|_| nests) {
            if nesting_depth_exceeds(raw.as_bytes(), depth, self.max_depth) {
                return Err(too_deep(self.max_depth));
            }
        }
        out.extend_from_slice(raw.as_bytes());
        Ok(())
    }

    /// That a structure nesting `depth` levels is within the depth limit.
    pub(crate) fn check_structure_depth(&self, depth: usize) -> Result<(), Error> {
        if depth > self.max_depth {
            return Err(too_deep(self.max_depth));
        }
        Ok(())
    }

    /// That `len` bytes written are within the byte limit.
    pub(crate) fn check_written(&self, len: usize) -> Result<(), Error> {
        if len > self.max_bytes {
            return Err(too_large(len, self.max_bytes));
        }
        Ok(())
    }

    /// Decode JSON into a generic value.
    ///
    /// # Errors
    /// As [`decode`](Self::decode).
    pub fn decode_value(&self, bytes: &[u8]) -> Result<serde_json::Value, Error> {
        self.decode(bytes)
    }

    /// Decode a JSON object into a map. With duplicate keys, the **last** value wins (this is
    /// `serde_json`'s behaviour for maps; typed structs refuse duplicates instead).
    ///
    /// # Errors
    /// As [`decode`](Self::decode), and [`ErrorKind::Codec`] if the value is not an object.
    pub fn decode_map(
        &self,
        bytes: &[u8],
    ) -> Result<serde_json::Map<String, serde_json::Value>, Error> {
        self.decode(bytes)
    }

    /// Check the byte and depth limits without parsing.
    ///
    /// # Errors
    /// [`ErrorKind::PayloadTooLarge`] or [`ErrorKind::PayloadTooDeep`].
    pub fn check(&self, bytes: &[u8]) -> Result<(), Error> {
        if bytes.len() > self.max_bytes {
            return Err(too_large(bytes.len(), self.max_bytes));
        }
        if nesting_depth_exceeds(bytes, 0, self.max_depth) {
            return Err(too_deep(self.max_depth));
        }
        Ok(())
    }
}

fn too_large(len: usize, max: usize) -> Error {
    Error::new(
        ErrorKind::PayloadTooLarge,
        format!("payload is {len} bytes; the limit is {max}"),
    )
}

fn too_deep(max: usize) -> Error {
    Error::new(
        ErrorKind::PayloadTooDeep,
        format!("payload nests deeper than {max} levels"),
    )
}

/// `serde_json`'s compact output, counting the nesting as it is written: the encode side of the
/// depth limit, for the price of a counter. Past the limit it stops the serializer with an I/O
/// error (which `exceeded` turns back into [`ErrorKind::PayloadTooDeep`]). A raw fragment (a
/// `RawValue`, whose structure serde never sees) is scanned like untrusted input, from the
/// depth it is written at.
struct DepthLimit<'a> {
    depth: usize,
    max: usize,
    exceeded: &'a mut bool,
}

impl DepthLimit<'_> {
    fn enter(&mut self) -> std::io::Result<()> {
        self.depth = self.depth.saturating_add(1);
        if self.depth > self.max {
            *self.exceeded = true;
            return Err(std::io::Error::other("too deep"));
        }
        Ok(())
    }
}

impl serde_json::ser::Formatter for DepthLimit<'_> {
    fn begin_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.enter()?;
        w.write_all(b"[")
    }

    fn end_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.depth = self.depth.saturating_sub(1);
        w.write_all(b"]")
    }

    fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.enter()?;
        w.write_all(b"{")
    }

    fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.depth = self.depth.saturating_sub(1);
        w.write_all(b"}")
    }

    fn write_raw_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        if nesting_depth_exceeds(fragment.as_bytes(), self.depth, self.max) {
            *self.exceeded = true;
            return Err(std::io::Error::other("too deep"));
        }
        w.write_all(fragment.as_bytes())
    }
}

/// Whether the JSON text, written at nesting depth `start`, nests arrays/objects deeper than `max`. A linear scan that tracks
/// strings and escapes; it does not validate (the parser does), it only bounds the parser's work.
/// String contents, usually most of a payload, are skipped with `memchr` rather than walked byte
/// by byte: on a 1 KiB value this scan was a fifth of a session round trip before.
fn nesting_depth_exceeds(bytes: &[u8], start: usize, max: usize) -> bool {
    let mut depth: usize = start;
    let mut rest = bytes;
    while let Some(at) = rest
        .iter()
        .position(|b| matches!(b, b'"' | b'[' | b'{' | b']' | b'}'))
    {
        let (Some(&b), Some(after)) = (rest.get(at), rest.get(at.saturating_add(1)..)) else {
            return false;
        };
        rest = after;
        match b {
            b'"' => match skip_string(rest) {
                Some(after_string) => rest = after_string,
                None => return false,
            },
            b'[' | b'{' => {
                depth = depth.saturating_add(1);
                if depth > max {
                    return true;
                }
            }
            _ => depth = depth.saturating_sub(1),
        }
    }
    false
}

/// The bytes after the string that `s` starts inside (just past its opening quote), or `None` if
/// the string never closes.
fn skip_string(mut s: &[u8]) -> Option<&[u8]> {
    loop {
        let at = memchr::memchr2(b'"', b'\\', s)?;
        let escape = s.get(at) == Some(&b'\\');
        // An escape consumes the next byte, whatever it is (`\"` does not end the string).
        s = s
            .get(at.saturating_add(if escape { 2 } else { 1 })..)
            .unwrap_or_default();
        if !escape {
            return Some(s);
        }
    }
}

/// A `serde_json` error as ours, without its message: `serde_json` quotes input in some messages
/// ("invalid type: string \"...\""), and payloads may hold secrets.
fn json_error(e: serde_json::Error) -> Error {
    use serde_json::error::Category;
    let what = match e.classify() {
        Category::Io => "I/O error",
        Category::Syntax => "invalid JSON",
        Category::Data => "JSON does not match the expected type",
        Category::Eof => "truncated JSON",
    };
    if e.line() == 0 {
        Error::new(ErrorKind::Codec, what)
    } else {
        Error::new(
            ErrorKind::Codec,
            format!("{what} at line {} column {}", e.line(), e.column()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, Serialize, PartialEq)]
    struct User {
        name: String,
        age: u8,
    }

    fn kind<T: std::fmt::Debug>(r: Result<T, Error>) -> ErrorKind {
        r.expect_err("expected an error").kind()
    }

    #[test]
    fn round_trips_typed_values() {
        let c = Codec::new();
        let u = User {
            name: "ann".into(),
            age: 7,
        };
        let bytes = c.encode(&u).unwrap();
        assert_eq!(bytes, br#"{"name":"ann","age":7}"#);
        assert_eq!(c.decode::<User>(&bytes).unwrap(), u);
    }

    #[test]
    fn depth_limit_is_exact() {
        let c = Codec::new().with_max_depth(3);
        assert!(c.decode_value(b"[[[1]]]").is_ok());
        assert_eq!(
            kind(c.decode_value(b"[[[[1]]]]")),
            ErrorKind::PayloadTooDeep
        );
        // Brackets inside strings, including after escaped quotes, do not count.
        assert!(c.decode_value(br#"[[["[[[[\"[[[["]]]"#).is_ok());
        assert_eq!(
            kind(c.encode(&serde_json::json!([[[[1]]]]))),
            ErrorKind::PayloadTooDeep
        );
    }

    #[test]
    fn depth_scan_handles_escapes_and_unclosed_strings() {
        let c = Codec::new().with_max_depth(3);
        // An escaped backslash ends right before the closing quote: the brackets after count.
        assert_eq!(
            kind(c.decode_value(br#"["\\",[[[1]]]]"#)),
            ErrorKind::PayloadTooDeep
        );
        assert!(c.decode_value(br#"["\\",[[1]]]"#).is_ok());
        // An escaped quote does not end the string: the brackets inside it do not count.
        assert!(c.decode_value(br#"["\"[[[[[",1]"#).is_ok());
        // A string that never closes hides nothing from the parser, which refuses it.
        assert_eq!(kind(c.decode_value(br#"["[[[[[["#)), ErrorKind::Codec);
        assert!(!nesting_depth_exceeds(br#"["\"#, 0, 0) || nesting_depth_exceeds(b"[", 0, 0));
    }

    #[test]
    fn encode_counts_depth_as_the_scan_does() {
        use serde_json::json;
        for max in 0..5 {
            let c = Codec::new().with_max_depth(max);
            for v in [
                json!(1),
                json!([]),
                json!({}),
                json!([[], {}]),
                json!({"a": [1, {"b": []}], "c": "[[[[{{{"}),
                json!([[[[[1]]]]]),
                json!({"a": {"b": {"c": {"d": {}}}}}),
            ] {
                let text = serde_json::to_vec(&v).unwrap();
                let scanned = nesting_depth_exceeds(&text, 0, max);
                let encoded = c.encode(&v);
                assert_eq!(encoded.is_err(), scanned, "{v} at {max}");
                if let Err(e) = encoded {
                    assert_eq!(e.kind(), ErrorKind::PayloadTooDeep);
                } else {
                    assert_eq!(encoded.unwrap(), text);
                }
            }
        }
    }

    #[test]
    fn raw_fragments_count_from_the_depth_they_are_written_at() {
        use serde_json::value::RawValue;
        let raw = |text: &str| RawValue::from_string(text.to_owned()).unwrap();
        let c = Codec::new().with_max_depth(3);
        // One level of map around the fragment: [[1]] reaches 3, [[[1]]] 4.
        let ok = std::collections::BTreeMap::from([("a", raw("[[1]]"))]);
        assert_eq!(c.encode(&ok).unwrap(), br#"{"a":[[1]]}"#);
        let deep = std::collections::BTreeMap::from([("a", raw(r#"[["]]]]", [1]]]"#))]);
        assert_eq!(kind(c.encode(&deep)), ErrorKind::PayloadTooDeep);
    }

    #[test]
    fn depth_is_capped_at_the_parsers_limit() {
        assert_eq!(Codec::new().with_max_depth(100_000).max_depth(), 127);
    }

    #[test]
    fn hundred_thousand_deep_is_refused_without_recursion() {
        let deep = "[".repeat(100_000) + &"]".repeat(100_000);
        let c = Codec::new().with_max_bytes(1 << 20);
        assert_eq!(
            kind(c.decode_value(deep.as_bytes())),
            ErrorKind::PayloadTooDeep
        );
    }

    #[test]
    fn size_limit_is_exact() {
        let c = Codec::new().with_max_bytes(7);
        assert!(c.decode_value(br#""12345""#).is_ok());
        assert_eq!(
            kind(c.decode_value(br#""123456""#)),
            ErrorKind::PayloadTooLarge
        );
        assert_eq!(kind(c.encode("123456")), ErrorKind::PayloadTooLarge);
    }

    #[test]
    fn refuses_what_json_refuses() {
        let c = Codec::new();
        for bad in [
            &b"{\"a\":1} x"[..], // trailing data
            b"{\"a\":1}{}",      // a second value
            b"\xEF\xBB\xBF{}",   // byte-order mark
            b"\"\xff\"",         // invalid UTF-8
            br#""\ud800""#,      // lone surrogate
            b"",                 // empty
            b"{\"a\":",          // truncated
        ] {
            assert_eq!(kind(c.decode_value(bad)), ErrorKind::Codec, "{bad:?}");
        }
        assert_eq!(kind(c.decode::<f64>(b"1e400")), ErrorKind::Codec);
        assert_eq!(
            kind(c.decode::<u64>(b"18446744073709551616")),
            ErrorKind::Codec
        );
        assert_eq!(
            kind(c.decode::<User>(br#"{"name":"a","age":1,"age":2}"#)),
            ErrorKind::Codec
        );
    }

    #[test]
    fn duplicate_keys_in_a_map_keep_the_last() {
        let m = Codec::new().decode_map(br#"{"a":1,"a":2}"#).unwrap();
        assert_eq!(m.get("a"), Some(&serde_json::json!(2)));
    }

    #[test]
    fn error_messages_never_quote_the_payload() {
        let e = Codec::new()
            .decode::<u64>(br#""hunter2-secret""#)
            .unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
        assert_eq!(e.kind(), ErrorKind::Codec);
    }

    #[test]
    fn non_string_map_keys_cannot_encode() {
        let mut m = std::collections::HashMap::new();
        m.insert(vec![1u8], 1);
        assert_eq!(kind(Codec::new().encode(&m)), ErrorKind::Codec);
    }
}
