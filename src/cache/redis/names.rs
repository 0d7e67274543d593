//! Redis key names, and the values read back from them that are numbers.

use std::time::Duration;

use crate::cache::Cache;
use crate::error::{Error, ErrorKind};

/// `P:kind:n:N`: the length makes the name unambiguous whatever bytes the namespace holds.
pub(super) fn namespace_key(prefix: &str, kind: &str, ns: &str) -> String {
    format!("{prefix}:{kind}:{}:{ns}", ns.len())
}

/// `P:kind:n:N:G:J`, an entry's or a lock's name.
pub(super) fn keyed(
    prefix: &str,
    kind: &str,
    ns: &str,
    generation: u64,
    key_json: &[u8],
) -> Vec<u8> {
    let mut out = namespace_key(prefix, kind, ns).into_bytes();
    out.extend_from_slice(format!(":{generation}:").as_bytes());
    out.extend_from_slice(key_json);
    out
}

/// The last index `GETRANGE` reads of a generation: `u64::MAX` has 20 digits, so a 21st byte
/// shows a forged value without reading the rest of it.
pub(super) const GENERATION_MAX_DIGITS: i64 = 20;

/// A reply's generation: absent is 0; anything but decimal digits is an error, not a guess.
pub(super) fn parse_generation(raw: Option<&[u8]>) -> Result<u64, Error> {
    let Some(raw) = raw else { return Ok(0) };
    if raw.len() > 20 {
        return Err(Error::new(
            ErrorKind::StoreProtocol,
            "a namespace generation in Redis is longer than any number",
        ));
    }
    std::str::from_utf8(raw)
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .ok_or_else(|| {
            Error::new(
                ErrorKind::StoreProtocol,
                "a namespace generation in Redis is not a number",
            )
        })
}

pub(super) fn millis(d: Duration) -> u64 {
    // Redis refuses PX 0; round up so a sub-millisecond lifetime still lives briefly. Redis also
    // refuses an expiry past its own clock's range: a per-call TTL (insert_with_ttl) is not
    // validated by any builder, so cap it at the longest lifetime a builder accepts.
    let capped = d.min(Cache::MAX_LIFETIME.saturating_mul(2));
    u64::try_from(capped.as_millis()).unwrap_or(u64::MAX).max(1)
}

pub(super) fn hex_encode(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unambiguous() {
        let names = [
            keyed("p", "cache", "a", 0, b"\"b:0:c\""),
            keyed("p", "cache", "a:0", 0, b"\"b\""),
            keyed("p", "cache", "a", 10, b"1"),
            keyed("p", "cache", "a", 1, b"01"),
            keyed("p", "lock", "a", 0, b"1"),
            keyed("p:cache:1:a", "cache", "a", 0, b"1"),
        ];
        for (i, a) in names.iter().enumerate() {
            for b in &names[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert_eq!(
            keyed("app", "cache", "users", 3, b"42"),
            b"app:cache:5:users:3:42"
        );
        assert_eq!(namespace_key("app", "gen", "users"), "app:gen:5:users");
    }

    #[test]
    fn generations_parse_strictly_and_lifetimes_round_up() {
        assert_eq!(parse_generation(None), Ok(0));
        assert_eq!(parse_generation(Some(b"17")), Ok(17));
        for bad in [
            &b""[..],
            b"-1",
            b"1e3",
            b" 1",
            b"18446744073709551616",
            b"\xff",
        ] {
            assert_eq!(
                parse_generation(Some(bad)).map_err(|e| e.kind()),
                Err(ErrorKind::StoreProtocol)
            );
        }
        assert_eq!(millis(Duration::ZERO), 1);
        assert_eq!(millis(Duration::from_micros(1500)), 1);
        assert_eq!(millis(Duration::from_secs(2)), 2000);
        assert_eq!(hex_encode(&[0, 0xab, 0x1f]), "00ab1f");
        assert_eq!(
            parse_generation(Some(&[b'7'; 21])).map_err(|e| e.kind()),
            Err(ErrorKind::StoreProtocol)
        );
        // A per-call TTL is capped where Redis would refuse it.
        assert_eq!(millis(Duration::MAX), millis(Cache::MAX_LIFETIME * 2));
    }
}
