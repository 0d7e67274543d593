//! Keeping session cookies out of shared caches: what a response that read or set the session
//! says to caches (`Vary: Cookie`, `Cache-Control`). The rules are on [`CacheSafety`].

use std::borrow::Cow;

/// What [`SessionManager::end`](crate::SessionManager::end) does with a response's caching
/// headers ([`SessionBuilder::with_cache_safety`](crate::SessionBuilder::with_cache_safety)).
///
/// A CDN or a caching proxy may store a response and hand it to other users. A response that
/// carries one user's `Set-Cookie` must therefore never be storable by a shared cache, and a
/// response computed from the session must be keyed on the `Cookie` header. The rules, applied by
/// [`SessionManager::end`](crate::SessionManager::end) under [`CacheSafety::Enforce`]:
///
/// - the application read or wrote the session, or a cookie goes out: `Vary: Cookie` is added
///   (merged with any `Vary` already there; `Vary: *` is left alone);
/// - a session `Set-Cookie` goes out and the response has no `Cache-Control`: `private`;
/// - it has one that neither says `private` (without field names) nor `no-store`: `private` is
///   put in front of it (`max-age=60` becomes `private, max-age=60`);
/// - it says `public` or gives `s-maxage` (the handler wants shared caches to store it): a
///   cookie that can wait (a rolling refresh, the deletion of a refused or orphan cookie) is not
///   sent; one that must go out (the session changed, was renewed or purged, or is re-sealed under
///   a new key or mode) is sent, the directive becomes `private, no-store`, and a `tracing`
///   warning names the conflict.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CacheSafety {
    /// Add `Vary: Cookie` and keep responses that set the session cookie out of shared caches
    /// (the rules above; SECURITY.md, "Shared caches"). The default: one response stored by a
    /// CDN would hand a user's session to everyone it serves.
    #[default]
    Enforce,
    /// Leave `Cache-Control` and `Vary` as the application set them, and send every cookie
    /// (for an application that sets its own caching headers on every route).
    Off,
}

/// The response headers the manager reads or writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ResponseHeader {
    /// `Set-Cookie`.
    SetCookie,
    /// `Cache-Control`.
    CacheControl,
    /// `Vary`.
    Vary,
}

impl ResponseHeader {
    /// The header's lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            ResponseHeader::SetCookie => "set-cookie",
            ResponseHeader::CacheControl => "cache-control",
            ResponseHeader::Vary => "vary",
        }
    }
}

/// A framework's response header map, as the manager sees it. Implemented for
/// [`http::HeaderMap`] here and for actix-web's map in the `actix` adapter; another framework
/// implements these three methods to use [`SessionManager::end`](crate::SessionManager::end).
pub trait ResponseHeaders {
    /// Every value of `name`, in order.
    fn header_values(&self, name: ResponseHeader) -> Vec<&[u8]>;
    /// Replace every value of `name` with `value` (visible ASCII). Usually a constant
    /// (`private`, `Cookie`), which a map can take without copying or checking it again.
    fn set_header(&mut self, name: ResponseHeader, value: Cow<'static, str>);
    /// Add `value` (visible ASCII) to the values of `name`.
    fn append_header(&mut self, name: ResponseHeader, value: String);
}

fn http_name(name: ResponseHeader) -> http::HeaderName {
    match name {
        ResponseHeader::SetCookie => http::header::SET_COOKIE,
        ResponseHeader::CacheControl => http::header::CACHE_CONTROL,
        ResponseHeader::Vary => http::header::VARY,
    }
}

impl ResponseHeaders for http::HeaderMap {
    fn header_values(&self, name: ResponseHeader) -> Vec<&[u8]> {
        self.get_all(http_name(name))
            .iter()
            .map(http::HeaderValue::as_bytes)
            .collect()
    }

    fn set_header(&mut self, name: ResponseHeader, value: Cow<'static, str>) {
        let value = match value {
            Cow::Borrowed(constant) => Ok(http::HeaderValue::from_static(constant)),
            Cow::Owned(text) => http::HeaderValue::try_from(text),
        };
        match value {
            Ok(v) => {
                self.insert(http_name(name), v);
            }
            Err(_) => invalid_value(name),
        }
    }

    fn append_header(&mut self, name: ResponseHeader, value: String) {
        match http::HeaderValue::try_from(value) {
            Ok(v) => {
                self.append(http_name(name), v);
            }
            Err(_) => invalid_value(name),
        }
    }
}

/// Every value the manager writes is rendered from validated settings or copied from a valid
/// header; reaching this is a bug, reported rather than panicked on.
pub(crate) fn invalid_value(name: ResponseHeader) {
    tracing::error!(
        header = name.as_str(),
        "a header value the session layer rendered was not valid"
    );
}

/// The `Cache-Control` directives that matter here.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Directives {
    /// The header is present.
    present: bool,
    /// `public` or `s-maxage`: the application asks shared caches to store the response.
    shared: bool,
    /// `private` (without field names) or `no-store`: no shared cache stores it.
    kept_private: bool,
}

impl Directives {
    pub(crate) fn parse(values: &[&[u8]]) -> Directives {
        let mut d = Directives {
            present: !values.is_empty(),
            ..Directives::default()
        };
        for directive in values.iter().flat_map(|v| v.split(|&b| b == b',')) {
            let directive = trim(directive);
            let (name, has_argument) = match directive.iter().position(|&b| b == b'=') {
                Some(eq) => (trim(directive.get(..eq).unwrap_or_default()), true),
                None => (directive, false),
            };
            if name.eq_ignore_ascii_case(b"public") || name.eq_ignore_ascii_case(b"s-maxage") {
                d.shared = true;
            } else if name.eq_ignore_ascii_case(b"no-store")
                || (name.eq_ignore_ascii_case(b"private") && !has_argument)
            {
                d.kept_private = true;
            }
        }
        d
    }

    /// Whether the application asked shared caches to store the response.
    pub(crate) fn shared(self) -> bool {
        self.shared
    }

    /// Whether the response had a `Cache-Control` header.
    pub(crate) fn present(self) -> bool {
        self.present
    }

    /// The `Cache-Control` to send with a session cookie, when it must change; `existing` is the
    /// current value, joined (only read when the header is [`present`](Self::present)).
    pub(crate) fn with_cookie(self, existing: &[&[u8]]) -> Option<Cow<'static, str>> {
        if self.shared {
            return Some(Cow::Borrowed("private, no-store"));
        }
        if self.kept_private {
            return None;
        }
        if !self.present {
            return Some(Cow::Borrowed("private"));
        }
        let mut value = String::from("private");
        for v in existing {
            value.push_str(", ");
            value.push_str(&String::from_utf8_lossy(v));
        }
        Some(Cow::Owned(value))
    }
}

/// The `Vary` value that adds `Cookie` to `existing`, or `None` when it is already there (or
/// `*`).
pub(crate) fn vary_with_cookie(existing: &[&[u8]]) -> Option<Cow<'static, str>> {
    let listed = existing
        .iter()
        .flat_map(|v| v.split(|&b| b == b','))
        .map(trim)
        .any(|f| f == b"*" || f.eq_ignore_ascii_case(b"cookie"));
    if listed {
        return None;
    }
    if existing.iter().all(|v| trim(v).is_empty()) {
        return Some(Cow::Borrowed("Cookie"));
    }
    let mut value = String::new();
    for v in existing.iter().map(|v| trim(v)).filter(|v| !v.is_empty()) {
        value.push_str(&String::from_utf8_lossy(v));
        value.push_str(", ");
    }
    value.push_str("Cookie");
    Some(Cow::Owned(value))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn d(v: &str) -> Directives {
        Directives::parse(&[v.as_bytes()])
    }

    #[test]
    fn directives_are_read_case_insensitively() {
        assert!(d("Public, max-age=3600").shared());
        assert!(d("max-age=0, S-MaxAge=60").shared());
        assert!(!d("max-age=60").shared());
        assert_eq!(d("no-store").with_cookie(&[b"no-store"]), None);
        assert_eq!(d("private").with_cookie(&[b"private"]), None);
        // private with field names still lets a shared cache store the rest.
        assert_eq!(
            d("private=\"x\"").with_cookie(&[b"private=\"x\""]),
            Some("private, private=\"x\"".into())
        );
        assert_eq!(
            d("max-age=60").with_cookie(&[b"max-age=60"]),
            Some("private, max-age=60".into())
        );
        assert_eq!(
            Directives::parse(&[]).with_cookie(&[]),
            Some("private".into())
        );
        assert_eq!(
            d("public, max-age=3600").with_cookie(&[b"public"]),
            Some("private, no-store".into())
        );
    }

    #[test]
    fn vary_is_merged() {
        assert_eq!(vary_with_cookie(&[]).as_deref(), Some("Cookie"));
        assert_eq!(
            vary_with_cookie(&[b"Accept-Encoding"]),
            Some("Accept-Encoding, Cookie".into())
        );
        assert_eq!(vary_with_cookie(&[b"accept, cookie"]), None);
        assert_eq!(vary_with_cookie(&[b"*"]), None);
    }
}
