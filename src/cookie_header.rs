//! Reading the session cookie out of a request's `Cookie` headers: a byte scan for our name, and
//! the assembly of chunked tokens.
//!
//! Reading is defensive and strict about names. Pairs are split at `;`, and only SP and HTAB
//! around a name or a value are white space (RFC 6265's OWS): `\rNAME` is another name. Every
//! `Cookie` header and every pair is scanned, malformed neighbours
//! (`null;`, pairs without `=`, non-UTF-8 bytes, huge unrelated cookies) are skipped without
//! being copied or decoded, only cookies with our exact name (or `NAME.k`, a chunk) are kept, and
//! at most [`MAX_CANDIDATES`] values per name are. Several values under one name (a sibling
//! subdomain can toss one in) become several candidates, tried in request order by the session.
//!
//! # Chunks
//!
//! A token too long for one cookie is written as `NAME=<n>.<piece 0>`, `NAME.1=<piece 1>`, …,
//! `NAME.<n-1>=<piece n-1>`: the first chunk records how many chunks make the token (`n`, 2 to
//! 16, canonical decimal, then a `.`, which base64url never contains). A token in one cookie has
//! no prefix. So a candidate reads exactly the chunks its first chunk names, and a cookie planted
//! under any other chunk name cannot break the assembly: it is never part of a candidate that can
//! open, and it is deleted as an orphan once the real session opens.

use crate::cookie_policy::CookiePolicy;

/// At most this many values per cookie name, and this many assembled candidates, are tried per
/// request (cookie tossing needs one or two; a flood of them must not buy an attacker CPU time).
pub const MAX_CANDIDATES: usize = 8;

/// The separator between a first chunk's count and its piece: not in the base64url alphabet.
const COUNT_SEPARATOR: u8 = b'.';

/// One assembled token and how many chunks it was read from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Candidate {
    pub(crate) token: String,
    pub(crate) chunks: usize,
}

/// The candidates of a request, in the order they are tried. Almost always one, which is kept
/// without a vector's allocation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Candidates {
    first: Option<Candidate>,
    rest: Vec<Candidate>,
}

impl Candidates {
    pub(crate) fn push(&mut self, candidate: Candidate) {
        if self.first.is_none() {
            self.first = Some(candidate);
        } else {
            self.rest.push(candidate);
        }
    }

    pub(crate) fn len(&self) -> usize {
        usize::from(self.first.is_some()).saturating_add(self.rest.len())
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Candidate> {
        self.first.iter().chain(&self.rest)
    }
}

impl IntoIterator for Candidates {
    type Item = Candidate;
    type IntoIter =
        std::iter::Chain<std::option::IntoIter<Candidate>, std::vec::IntoIter<Candidate>>;

    fn into_iter(self) -> Self::IntoIter {
        self.first.into_iter().chain(self.rest)
    }
}

/// What a request carried under the session cookie's name.
#[derive(Debug, Default)]
pub(crate) struct Incoming {
    /// The candidate tokens, in the order they are tried.
    pub(crate) candidates: Candidates,
    /// Bit `i` is set when chunk `i` (`NAME` for 0, `NAME.i` otherwise) was present.
    pub(crate) present: u32,
}

impl Incoming {
    /// Whether any cookie of ours was present.
    pub(crate) fn any(&self) -> bool {
        self.present != 0
    }
}

/// Scan `values` (the request's `Cookie` header values, in order) for the policy's cookies.
pub(crate) fn read<'a>(
    policy: &CookiePolicy,
    values: impl IntoIterator<Item = &'a [u8]>,
) -> Incoming {
    let max_chunks = policy.max_chunks();
    let mut present = 0u32;
    let name = policy.name().as_bytes();
    if max_chunks <= 1 {
        // Without chunking (the default) each value under our name is a candidate as it is.
        let mut candidates = Candidates::default();
        for (_, value) in pairs(values).filter(|(key, _)| *key == name) {
            present = 1;
            if candidates.len() < MAX_CANDIDATES {
                candidates.push(candidate(value, 1));
            }
        }
        return Incoming {
            candidates,
            present,
        };
    }
    // seen[i]: the values of chunk i, in request order.
    let mut seen: Vec<Vec<&'a [u8]>> = vec![Vec::new(); max_chunks];
    for (key, value) in pairs(values) {
        let index = if key == name {
            0
        } else {
            match chunk_suffix(key, name).and_then(|k| policy.chunk_index(k)) {
                Some(i) => i,
                None => continue,
            }
        };
        if let Some(slot) = seen.get_mut(index) {
            present |= 1u32.checked_shl(index as u32).unwrap_or(0);
            if slot.len() < MAX_CANDIDATES {
                slot.push(value);
            }
        }
    }
    Incoming {
        candidates: assemble(&seen),
        present,
    }
}

/// The values of the cookie `name` (another library's, e.g. a legacy session cookie), in
/// request order, at most [`MAX_CANDIDATES`].
#[cfg(feature = "beaker-compat")]
pub(crate) fn read_named<'a>(
    name: &str,
    values: impl IntoIterator<Item = &'a [u8]>,
) -> Vec<String> {
    let mut out = Vec::new();
    for (key, value) in pairs(values) {
        if key == name.as_bytes() && out.len() < MAX_CANDIDATES {
            out.push(String::from_utf8_lossy(value).into_owned());
        }
    }
    out
}

/// Every `name=value` pair of the `Cookie` header values, in request order, white space
/// trimmed; pairs without `=` are skipped.
fn pairs<'a>(
    values: impl IntoIterator<Item = &'a [u8]>,
) -> impl Iterator<Item = (&'a [u8], &'a [u8])> {
    values.into_iter().flat_map(|header| {
        // `memchr` finds the separators a word at a time: a header is mostly cookie values
        // (ours alone is 200 to 4000 bytes), which a byte-by-byte split walked at ~10
        // instructions a byte.
        let mut start = 0usize;
        memchr::memchr_iter(b';', header)
            .chain(std::iter::once(header.len()))
            .filter_map(move |end| {
                let pair = header.get(start..end).unwrap_or_default();
                start = end.saturating_add(1);
                split_pair(pair)
            })
    })
}

/// `name=value` with the white space around both trimmed; `None` without `=`.
fn split_pair(pair: &[u8]) -> Option<(&[u8], &[u8])> {
    let eq = memchr::memchr(b'=', pair)?;
    let (key, rest) = pair.split_at(eq);
    let value = rest.get(1..).unwrap_or_default();
    Some((trim(key), trim(value)))
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// `NAME.k` as text when `key` starts with our name and a dot; the policy checks `k`.
fn chunk_suffix<'k>(key: &'k [u8], name: &[u8]) -> Option<&'k str> {
    let rest = key.strip_prefix(name)?;
    if rest.first() != Some(&b'.') {
        return None;
    }
    std::str::from_utf8(key).ok()
}

/// A candidate from raw bytes. Our tokens are ASCII; anything else cannot open, so it becomes a
/// candidate that is refused as malformed (one replacement character is enough for that).
fn candidate(bytes: &[u8], chunks: usize) -> Candidate {
    // `from_utf8` checks ASCII a word at a time; the lossy conversion walks chunk by chunk even
    // when there is nothing to replace (2k instructions for a 150-byte token), so it is kept
    // for the invalid case only.
    let token = match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    };
    Candidate { token, chunks }
}

/// Split a first chunk into its count and piece: `(1, value)` without a count prefix,
/// `None` for a prefix that is not a canonical count from 2 to `max`.
pub(crate) fn split_count(value: &[u8], max: usize) -> Option<(usize, &[u8])> {
    let Some(dot) = value.iter().position(|&b| b == COUNT_SEPARATOR) else {
        return Some((1, value));
    };
    let (digits, rest) = value.split_at(dot);
    let count = match digits {
        [d @ b'2'..=b'9'] => usize::from(d - b'0'),
        [b'1', d @ b'0'..=b'9'] => 10 + usize::from(d - b'0'),
        _ => return None,
    };
    (count <= max).then_some((count, rest.get(1..).unwrap_or_default()))
}

/// The first chunk's value for a token split into `count` chunks.
pub(crate) fn first_chunk_prefix(count: usize) -> String {
    if count > 1 {
        format!("{count}.")
    } else {
        String::new()
    }
}

/// Candidates from the chunks seen: for each value of the first chunk (in request order), every
/// combination of the values of exactly the chunks it names (mixed-radix counting, chunk 1
/// varying fastest), at most [`MAX_CANDIDATES`] in all. A first chunk whose count prefix is
/// invalid, or names a chunk that is absent, gives a candidate that is refused as malformed.
fn assemble(seen: &[Vec<&[u8]>]) -> Candidates {
    let max = seen.len();
    let firsts = seen.first().map(Vec::as_slice).unwrap_or_default();
    let mut out = Candidates::default();
    if firsts.is_empty() && seen.iter().any(|s| !s.is_empty()) {
        // Later chunks without the first: nothing can open, but the browser should be told to
        // drop them. An empty candidate is refused as malformed, like any broken cookie.
        out.push(candidate(b"", 1));
        return out;
    }
    for first in firsts {
        if out.len() >= MAX_CANDIDATES {
            break;
        }
        let Some((count, piece)) = split_count(first, max) else {
            out.push(candidate(b"", 1));
            continue;
        };
        let parts = seen.get(1..count).unwrap_or_default();
        if parts.len() + 1 != count || parts.iter().any(Vec::is_empty) {
            out.push(candidate(b"", count));
            continue;
        }
        let mut choice = vec![0usize; parts.len()];
        'combos: while out.len() < MAX_CANDIDATES {
            let mut token = Vec::with_capacity(piece.len().saturating_mul(count));
            token.extend_from_slice(piece);
            for (values, &i) in parts.iter().zip(&choice) {
                token.extend_from_slice(values.get(i).copied().unwrap_or_default());
            }
            out.push(candidate(&token, count));
            for (values, i) in parts.iter().zip(choice.iter_mut()) {
                *i = i.saturating_add(1);
                if *i < values.len() {
                    continue 'combos;
                }
                *i = 0;
            }
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cookie_policy::Chunking;

    fn policy(chunks: Option<usize>) -> CookiePolicy {
        CookiePolicy::builder("id")
            .chunking(chunks.map(Chunking::new))
            .build()
            .unwrap()
    }

    fn tokens(incoming: &Incoming) -> Vec<&str> {
        incoming
            .candidates
            .iter()
            .map(|c| c.token.as_str())
            .collect()
    }

    #[test]
    fn only_our_exact_name_is_read_and_neighbours_are_skipped() {
        let p = policy(None);
        let got = read(
            &p,
            [
                &b"null; ids=x; id2=y; \xff\xfe=1; id = abc ;x"[..],
                &b"id=def"[..],
            ],
        );
        assert_eq!(tokens(&got), ["abc", "def"]);
        assert_eq!(got.present, 1);
        assert!(got.candidates.iter().all(|c| c.chunks == 1));
    }

    /// Found by the `cookie_header` fuzz target: only SP and HTAB are white space around a name
    /// (RFC 6265's OWS); a CR or a NEL before it makes another name.
    #[test]
    fn only_spaces_and_tabs_are_trimmed() {
        let p = policy(None);
        let got = read(&p, [&b"\tid=a; \rid=b; \xc2\x85id=c;id\t=\td\t"[..]]);
        assert_eq!(tokens(&got), ["a", "d"]);
    }

    #[test]
    fn chunk_names_are_ignored_without_chunking() {
        let got = read(&policy(None), [&b"id.1=abc"[..]]);
        assert_eq!(got.candidates.len(), 0);
        assert!(!got.any());
    }

    #[test]
    fn the_first_chunk_names_the_chunks_read() {
        let p = policy(Some(4));
        let got = read(&p, [&b"id=2.ab; id.1=cd; id.2=planted; id.3=x"[..]]);
        assert_eq!(tokens(&got), ["abcd"]);
        assert_eq!(got.candidates.iter().next().unwrap().chunks, 2);
        assert_eq!(got.present, 0b1111);
        // A token in one cookie ignores every chunk name.
        let got = read(&p, [&b"id.1=planted; id=whole"[..]]);
        assert_eq!(tokens(&got), ["whole"]);
    }

    #[test]
    fn duplicates_are_tried_in_order_and_bounded() {
        let p = policy(Some(3));
        let got = read(&p, [&b"id.1=X; id=2.a; id.1=b"[..]]);
        assert_eq!(tokens(&got), ["aX", "ab"]);
        let many: String = (0..40).map(|i| format!("id.1={i}; id.2={i}; ")).collect();
        let header = format!("{many}id=3.a");
        let got = read(&p, [header.as_bytes()]);
        assert_eq!(got.candidates.len(), MAX_CANDIDATES);
    }

    #[test]
    fn broken_counts_and_missing_chunks_are_malformed_candidates() {
        let p = policy(Some(4));
        for header in [
            &b"id=5.ab"[..],
            b"id=1.ab",
            b"id=02.ab",
            b"id=3.ab; id.1=c",
            b"id.2=x",
        ] {
            let got = read(&p, [header]);
            assert_eq!(tokens(&got), [""], "{}", String::from_utf8_lossy(header));
        }
    }

    #[test]
    fn split_count_accepts_only_canonical_counts() {
        assert_eq!(split_count(b"abc", 16), Some((1, &b"abc"[..])));
        assert_eq!(split_count(b"2.abc", 16), Some((2, &b"abc"[..])));
        assert_eq!(split_count(b"16.a", 16), Some((16, &b"a"[..])));
        assert_eq!(split_count(b"16.a", 8), None);
        assert_eq!(split_count(b"17.a", 16), None);
        assert_eq!(split_count(b".a", 16), None);
        assert_eq!(first_chunk_prefix(3), "3.");
        assert_eq!(first_chunk_prefix(1), "");
    }
}
