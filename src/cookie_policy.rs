//! Cookie attributes, validated once, and the one function that renders every `Set-Cookie`.
//!
//! Beaker, actix-session and tower-sessions each shipped a bug where one response path (the first
//! cookie, an update, or the deletion) dropped an attribute. Here every path goes through
//! [`CookiePolicy::render`], so the first cookie, each update and the deletion cookie carry the
//! same Path, Domain, Secure, HttpOnly, SameSite and Partitioned, and the whole rendered header is
//! measured against the 4096-byte budget browsers enforce.

use std::fmt;
use std::time::Duration;

use cookie::Cookie;

use crate::clock::UnixTime;
pub use crate::cookie_attributes::{CookieLifetime, SameSite};
use crate::defaults::Defaults;
use crate::error::{Error, ErrorKind};

/// The most bytes a browser stores for one cookie: name, value and attributes (RFC 6265 §6.1
/// asks for at least 4096; Chromium and Firefox enforce about that).
pub const MAX_SET_COOKIE_LEN: usize = 4096;

/// Bytes of the `Set-Cookie` budget a policy must leave for the value: enough for a small
/// session in any mode (an empty session seals to about 130 characters).
const MIN_VALUE_ROOM: usize = 512;

/// The longest persistent lifetime browsers honour (Chromium and Firefox cap Max-Age and Expires
/// at 400 days; RFC 6265bis §5.5).
pub const MAX_COOKIE_LIFETIME: Duration = Duration::from_secs(400 * 24 * 3600);

/// Chunking settings: a token too long for one cookie is split across `NAME`, `NAME.1`, ….
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chunking {
    max_chunks: usize,
}

impl Chunking {
    /// At most `max_chunks` cookies (including the first), 2 to 16.
    pub fn new(max_chunks: usize) -> Self {
        Chunking {
            max_chunks: max_chunks.clamp(2, 16),
        }
    }
    /// The maximum number of cookies.
    pub fn max_chunks(&self) -> usize {
        self.max_chunks
    }
}

/// Validated cookie attributes. Build with [`CookiePolicy::builder`].
///
/// ```
/// use sealed_session::{CookiePolicy, SameSite};
///
/// let policy = CookiePolicy::builder("__Host-id").build()?;
/// assert_eq!(policy.same_site(), SameSite::Lax);
///
/// // A __Host- cookie may not name a Domain: refused when built, not when used.
/// let err = CookiePolicy::builder("__Host-id").domain("example.com").build().unwrap_err();
/// assert!(err.message().contains("__Host-"));
/// # Ok::<(), sealed_session::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct CookiePolicy {
    name: String,
    path: String,
    domain: Option<String>,
    same_site: SameSite,
    secure: bool,
    http_only: bool,
    partitioned: bool,
    lifetime: CookieLifetime,
    chunking: Option<Chunking>,
    /// Every attribute but Max-Age and Expires, rendered once by [`CookiePolicyBuilder::build`]
    /// (`; HttpOnly; SameSite=Lax; Secure; Path=/`): the same for every cookie of the policy, so
    /// a browser-session cookie is rendered by concatenation. Derived from the fields above.
    suffix: String,
    /// Characters of token one chunk holds when chunking is on, also computed once by
    /// [`CookiePolicyBuilder::build`]. Derived from the fields above.
    chunk_room: usize,
}

impl fmt::Debug for CookiePolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CookiePolicy")
            .field("name", &self.name)
            .field("path", &self.path)
            .field("domain", &self.domain)
            .field("same_site", &self.same_site)
            .field("secure", &self.secure)
            .field("http_only", &self.http_only)
            .field("partitioned", &self.partitioned)
            .field("lifetime", &self.lifetime)
            .field("chunking", &self.chunking)
            .finish()
    }
}

/// Builds a [`CookiePolicy`]; every setter states its default.
#[derive(Clone, Debug)]
pub struct CookiePolicyBuilder {
    policy: CookiePolicy,
}

impl CookiePolicy {
    /// Start a policy for the cookie `name`. Every attribute starts at its [`Defaults`] value:
    /// Path `/`, no Domain, SameSite `Lax`, Secure, HttpOnly, not Partitioned, a
    /// browser-session cookie, no chunking.
    pub fn builder(name: impl Into<String>) -> CookiePolicyBuilder {
        CookiePolicyBuilder {
            policy: CookiePolicy {
                name: name.into(),
                path: Defaults::PATH.to_owned(),
                domain: Defaults::DOMAIN.map(str::to_owned),
                same_site: Defaults::SAME_SITE,
                secure: Defaults::SECURE,
                http_only: Defaults::HTTP_ONLY,
                partitioned: Defaults::PARTITIONED,
                lifetime: Defaults::COOKIE_LIFETIME,
                chunking: (Defaults::CHUNKS > 1).then(|| Chunking::new(Defaults::CHUNKS)),
                suffix: String::new(),
                chunk_room: 0,
            },
        }
    }

    /// The cookie name (prefix included).
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The Path attribute.
    pub fn path(&self) -> &str {
        &self.path
    }
    /// The Domain attribute, if any.
    pub fn domain(&self) -> Option<&str> {
        self.domain.as_deref()
    }
    /// The SameSite attribute.
    pub fn same_site(&self) -> SameSite {
        self.same_site
    }
    /// Whether Secure is set.
    pub fn secure(&self) -> bool {
        self.secure
    }
    /// Whether HttpOnly is set.
    pub fn http_only(&self) -> bool {
        self.http_only
    }
    /// Whether Partitioned is set.
    pub fn partitioned(&self) -> bool {
        self.partitioned
    }
    /// The default cookie lifetime.
    pub fn lifetime(&self) -> CookieLifetime {
        self.lifetime
    }
    /// Chunking, if enabled.
    pub fn chunking(&self) -> Option<Chunking> {
        self.chunking
    }
    /// Characters of token one cookie holds when chunking is on; `None` when it is off (a
    /// token is then one cookie, and one that does not fit is an error).
    pub(crate) fn chunk_room(&self) -> Option<usize> {
        self.chunking.map(|_| self.chunk_room)
    }
    /// How many cookies a token may span (1 without chunking).
    pub fn max_chunks(&self) -> usize {
        self.chunking.map_or(1, |c| c.max_chunks)
    }

    /// The name of chunk `index` (0 is the plain name, then `NAME.1`, `NAME.2`, …).
    pub fn chunk_name(&self, index: usize) -> String {
        if index == 0 {
            self.name.clone()
        } else {
            format!("{}.{index}", self.name)
        }
    }

    /// If `name` is one of this policy's chunk names, its index.
    pub(crate) fn chunk_index(&self, name: &str) -> Option<usize> {
        if name == self.name {
            return Some(0);
        }
        let rest = name.strip_prefix(self.name.as_str())?.strip_prefix('.')?;
        // Canonical decimal only ("1", not "01" or "+1"), within the configured count.
        if rest.is_empty() || rest.starts_with('0') || !rest.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let index: usize = rest.parse().ok()?;
        (index > 0 && index < self.max_chunks()).then_some(index)
    }

    /// Render one `Set-Cookie` value: `name=value` and every attribute of this policy.
    ///
    /// `lifetime` overrides the policy's lifetime for this response ("remember me");
    /// `expires_at` caps a persistent cookie at the token's own expiry. Every `Set-Cookie` the
    /// crate emits, first, update or deletion, goes through here (or [`render_removal`]).
    ///
    /// # Errors
    /// [`ErrorKind::SessionTooLarge`] if the rendered value is over [`MAX_SET_COOKIE_LEN`] bytes.
    ///
    /// [`render_removal`]: Self::render_removal
    pub fn render(
        &self,
        name: &str,
        value: &str,
        now: UnixTime,
        lifetime: CookieLifetime,
        expires_at: Option<UnixTime>,
    ) -> Result<String, Error> {
        self.render_value(
            name,
            value.len(),
            |out| out.push_str(value),
            now,
            lifetime,
            expires_at,
        )
    }

    /// [`render`](Self::render) with the value of `value_len` bytes written by `write_value`
    /// straight into the header's text (the sealer's base64url, with no string in between).
    pub(crate) fn render_value(
        &self,
        name: &str,
        value_len: usize,
        write_value: impl FnOnce(&mut String),
        now: UnixTime,
        lifetime: CookieLifetime,
        expires_at: Option<UnixTime>,
    ) -> Result<String, Error> {
        let max_age = match lifetime {
            CookieLifetime::BrowserSession => None,
            CookieLifetime::Persistent(d) => {
                let d = d.min(MAX_COOKIE_LIFETIME);
                Some(match expires_at {
                    Some(at) => d.min(at.saturating_since(now)),
                    None => d,
                })
            }
        };
        let rendered = self.render_with(name, value_len, write_value, max_age, now);
        if rendered.len() > MAX_SET_COOKIE_LEN {
            return Err(Error::new(
                ErrorKind::SessionTooLarge,
                format!(
                    "the Set-Cookie header for {name} would be {} bytes; browsers keep at most {MAX_SET_COOKIE_LEN}",
                    rendered.len()
                ),
            ));
        }
        Ok(rendered)
    }

    /// Render the deletion cookie for `name`: the same attributes, an empty value, `Max-Age=0`
    /// and an `Expires` in the past, so every browser forgets it.
    pub fn render_removal(&self, name: &str) -> String {
        self.render_with(name, 0, |_| {}, Some(Duration::ZERO), UnixTime::EPOCH)
    }

    /// A browser-session cookie is the name, the value and the prerendered `suffix`; anything
    /// else (and the suffix itself, while [`CookiePolicyBuilder::build`] renders it) goes through
    /// the `cookie` crate, which sets the attribute order and the Expires format.
    fn render_with(
        &self,
        name: &str,
        value_len: usize,
        write_value: impl FnOnce(&mut String),
        max_age: Option<Duration>,
        now: UnixTime,
    ) -> String {
        if max_age.is_none() && !self.suffix.is_empty() {
            // Exactly the room it needs: a header value whose length is its capacity is handed
            // to the HTTP stack without another allocation (`Bytes::from(Vec)`).
            let mut out = String::with_capacity(
                name.len()
                    .saturating_add(value_len)
                    .saturating_add(self.suffix.len())
                    .saturating_add(1),
            );
            out.push_str(name);
            out.push('=');
            write_value(&mut out);
            out.push_str(&self.suffix);
            return out;
        }
        let mut value = String::with_capacity(value_len);
        write_value(&mut value);
        let mut c = Cookie::build((name.to_owned(), value))
            .path(self.path.clone())
            .secure(self.secure)
            .http_only(self.http_only)
            .same_site(self.same_site.to_cookie())
            .partitioned(self.partitioned);
        if let Some(domain) = &self.domain {
            c = c.domain(domain.clone());
        }
        if let Some(max_age) = max_age {
            let secs = i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX);
            c = c.max_age(time::Duration::seconds(secs));
            let expires = now
                .checked_add(max_age)
                .and_then(UnixTime::to_offset_date_time)
                .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
            c = c.expires(expires);
        }
        c.build().to_string()
    }
}

impl CookiePolicyBuilder {
    /// The cookie name (set by [`CookiePolicy::builder`]).
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.policy.name = name.into();
        self
    }

    /// The Path attribute. Default `/`, so the session covers the whole site.
    #[must_use]
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.policy.path = path.into();
        self
    }

    /// The Domain attribute. Default none: the cookie goes only to the host that set it, which is
    /// the safer choice (a Domain makes it visible to every subdomain).
    #[must_use]
    pub fn domain(mut self, domain: impl Into<String>) -> Self {
        self.policy.domain = Some(domain.into());
        self
    }

    /// The SameSite attribute. Default `Lax`: sent on top-level navigations from other sites
    /// (links keep users logged in) but not on cross-site subresource requests or form posts,
    /// which blocks most CSRF.
    #[must_use]
    pub fn same_site(mut self, same_site: SameSite) -> Self {
        self.policy.same_site = same_site;
        self
    }

    /// The Secure attribute. Default on: the cookie never travels over plain HTTP. Turn it off
    /// only for local development over `http://`.
    #[must_use]
    pub fn secure(mut self, secure: bool) -> Self {
        self.policy.secure = secure;
        self
    }

    /// The HttpOnly attribute. Default on: scripts cannot read the session cookie, so an XSS
    /// flaw cannot copy it.
    #[must_use]
    pub fn http_only(mut self, http_only: bool) -> Self {
        self.policy.http_only = http_only;
        self
    }

    /// The Partitioned attribute (CHIPS), for sessions inside third-party iframes. Default off.
    /// Requires Secure.
    #[must_use]
    pub fn partitioned(mut self, partitioned: bool) -> Self {
        self.policy.partitioned = partitioned;
        self
    }

    /// The default cookie lifetime. Default [`CookieLifetime::BrowserSession`]: the browser
    /// forgets the cookie when it closes; the server's own limits apply regardless.
    #[must_use]
    pub fn lifetime(mut self, lifetime: CookieLifetime) -> Self {
        self.policy.lifetime = lifetime;
        self
    }

    /// Split tokens too long for one cookie across up to `max_chunks` cookies. Default off: a
    /// session that outgrows one cookie is an error the application sees.
    #[must_use]
    pub fn chunking(mut self, chunking: Option<Chunking>) -> Self {
        self.policy.chunking = chunking;
        self
    }

    /// Validate.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidConfig`], naming the attribute, for: a name that is empty or not an
    /// RFC 6265 token; a Path that does not start with `/` or contains `;` or control
    /// characters; a Domain that is not a plain host name; SameSite=None or Partitioned without
    /// Secure; a `__Host-` name without Secure, with a Path other than `/`, or with a Domain; a
    /// `__Secure-` name without Secure; a name, Path and Domain so long that less than 512 bytes
    /// of the 4096-byte `Set-Cookie` budget remain for the session; a persistent lifetime under
    /// one second. A persistent lifetime over [`MAX_COOKIE_LIFETIME`] is not an error: it is
    /// capped when rendered, as documented on [`CookieLifetime::Persistent`]. Never panics.
    pub fn build(self) -> Result<CookiePolicy, Error> {
        let mut p = self.policy;
        let bad = |msg: String| Err(Error::new(ErrorKind::InvalidConfig, msg));
        if p.name.is_empty() || !p.name.bytes().all(is_token_char) {
            return bad(format!(
                "cookie name {:?} must be a non-empty RFC 6265 token (letters, digits and !#$%&'*+-.^_`|~)",
                p.name.escape_debug().to_string()
            ));
        }
        if !p.path.starts_with('/') || !p.path.bytes().all(is_path_char) {
            return bad(format!(
                "cookie Path {:?} must start with '/' and contain no ';', space or control characters",
                p.path.escape_debug().to_string()
            ));
        }
        if let Some(d) = &p.domain {
            if !is_valid_domain(d) {
                return bad(format!(
                    "cookie Domain {:?} must be a host name: letters, digits, '-' and '.'",
                    d.escape_debug().to_string()
                ));
            }
        }
        if p.same_site == SameSite::None && !p.secure {
            return bad("SameSite=None requires Secure (browsers reject it otherwise)".into());
        }
        if p.partitioned && !p.secure {
            return bad("Partitioned requires Secure".into());
        }
        let lower = p.name.to_ascii_lowercase();
        if lower.starts_with("__host-") {
            if !p.secure {
                return bad("a __Host- cookie requires Secure".into());
            }
            if p.path != "/" {
                return bad("a __Host- cookie requires Path=/".into());
            }
            if p.domain.is_some() {
                return bad("a __Host- cookie must not have a Domain".into());
            }
        }
        if lower.starts_with("__secure-") && !p.secure {
            return bad("a __Secure- cookie requires Secure".into());
        }
        // Max-Age is whole seconds: a shorter persistent lifetime renders as Max-Age=0, which
        // deletes the cookie in the response that sets it.
        if matches!(p.lifetime, CookieLifetime::Persistent(d) if d.as_secs() == 0) {
            return bad(
                "a persistent cookie lifetime must be at least one second (Max-Age=0 deletes \
                 the cookie); use CookieLifetime::BrowserSession for no Max-Age"
                    .into(),
            );
        }
        // `=` then the attributes: what every browser-session cookie of this policy ends with
        // (the suffix is still empty, so this renders through the `cookie` crate).
        let rendered = p.render_with("", 0, |_| {}, None, UnixTime::EPOCH);
        p.suffix = rendered.strip_prefix('=').unwrap_or_default().to_owned();
        // The deletion cookie is not allowed to fail (a logout must always reach the browser),
        // so the attributes themselves must leave room in the budget, with space for a session.
        let attributes = p
            .render_removal(&p.chunk_name(p.max_chunks().saturating_sub(1)))
            .len();
        if attributes.saturating_add(MIN_VALUE_ROOM) > MAX_SET_COOKIE_LEN {
            return bad(format!(
                "the cookie name, Path and Domain take {attributes} bytes of the \
                 {MAX_SET_COOKIE_LEN}-byte Set-Cookie budget, leaving less than \
                 {MIN_VALUE_ROOM} for the session"
            ));
        }
        // Room for a chunk's value: the budget less the deletion cookie of the last chunk name
        // (every attribute, Max-Age and Expires included), 16 bytes of margin (a persistent
        // cookie's Max-Age has more digits than the deletion's `0`) and the first chunk's
        // count prefix ("16.").
        p.chunk_room = MAX_SET_COOKIE_LEN
            .saturating_sub(attributes.saturating_add(16 + 3))
            .max(1);
        Ok(p)
    }
}

/// RFC 6265 `token` characters (RFC 7230 tchar).
fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// RFC 6265 `path-value`: any CHAR except CTLs or ";". Spaces and commas are refused too: they
/// survive rendering, but proxies that fold or split header values mangle them.
fn is_path_char(b: u8) -> bool {
    (0x21..0x7f).contains(&b) && b != b';' && b != b','
}

/// A host name: dot-separated labels of letters, digits and inner hyphens; one leading dot
/// allowed (ignored by browsers).
fn is_valid_domain(d: &str) -> bool {
    let d = d.strip_prefix('.').unwrap_or(d);
    !d.is_empty()
        && d.len() <= 253
        && d.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(b: CookiePolicyBuilder) -> String {
        let e = b.build().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidConfig);
        e.message().to_owned()
    }

    #[test]
    fn defaults_render_every_attribute() {
        let p = CookiePolicy::builder("id").build().unwrap();
        let s = p
            .render("id", "v", UnixTime::EPOCH, p.lifetime(), None)
            .unwrap();
        assert_eq!(s, "id=v; HttpOnly; SameSite=Lax; Secure; Path=/");
    }

    #[test]
    fn the_precomputed_suffix_renders_as_the_cookie_crate_does() {
        let now = UnixTime::from_secs(1_700_000_000);
        for b in [
            CookiePolicy::builder("__Host-id"),
            CookiePolicy::builder("id").secure(false).http_only(false),
            CookiePolicy::builder("id")
                .same_site(SameSite::None)
                .partitioned(true)
                .path("/app")
                .domain("example.com"),
            CookiePolicy::builder("id").same_site(SameSite::Strict),
        ] {
            let p = b.build().unwrap();
            assert!(!p.suffix.is_empty());
            // Without its suffix, the policy renders through the `cookie` crate.
            let through_cookie = CookiePolicy {
                suffix: String::new(),
                ..p.clone()
            };
            for (name, value) in [("id", "abc"), ("id.1", ""), ("x", "2.a-_b")] {
                assert_eq!(
                    p.render(name, value, now, CookieLifetime::BrowserSession, None)
                        .unwrap(),
                    through_cookie.render_with(
                        name,
                        value.len(),
                        |out| out.push_str(value),
                        None,
                        now
                    ),
                );
            }
        }
    }

    #[test]
    fn removal_keeps_attributes_and_expires_in_the_past() {
        let p = CookiePolicy::builder("id")
            .domain("example.com")
            .path("/app")
            .same_site(SameSite::None)
            .partitioned(true)
            .build()
            .unwrap();
        assert_eq!(
            p.render_removal("id"),
            "id=; HttpOnly; SameSite=None; Partitioned; Secure; Path=/app; Domain=example.com; \
             Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"
        );
    }

    #[test]
    fn persistent_lifetime_is_capped() {
        let p = CookiePolicy::builder("id").build().unwrap();
        let now = UnixTime::from_secs(1_700_000_000);
        let year = Duration::from_secs(3 * 365 * 24 * 3600);
        let s = p
            .render("id", "v", now, CookieLifetime::Persistent(year), None)
            .unwrap();
        assert!(s.contains("; Max-Age=34560000;"), "{s}");
        let s = p
            .render(
                "id",
                "v",
                now,
                CookieLifetime::Persistent(year),
                Some(UnixTime::from_secs(1_700_000_100)),
            )
            .unwrap();
        assert!(s.contains("; Max-Age=100;"), "{s}");
        assert!(s.ends_with("Expires=Tue, 14 Nov 2023 22:15:00 GMT"), "{s}");
    }

    #[test]
    fn rejects_injection_and_prefix_violations() {
        assert!(err(CookiePolicy::builder("a;b")).contains("RFC 6265 token"));
        assert!(err(CookiePolicy::builder("")).contains("RFC 6265 token"));
        assert!(err(CookiePolicy::builder("a b")).contains("token"));
        assert!(err(CookiePolicy::builder("id").path("/; Domain=evil")).contains("Path"));
        assert!(err(CookiePolicy::builder("id").path("app")).contains("Path"));
        assert!(err(CookiePolicy::builder("id").domain("a.com\r\nX: y")).contains("Domain"));
        assert!(err(CookiePolicy::builder("id").domain("a.com; Secure")).contains("Domain"));
        assert!(err(CookiePolicy::builder("id")
            .secure(false)
            .same_site(SameSite::None))
        .contains("SameSite=None"));
        assert!(
            err(CookiePolicy::builder("id").secure(false).partitioned(true))
                .contains("Partitioned")
        );
        assert!(err(CookiePolicy::builder("__Host-id").secure(false)).contains("Secure"));
        assert!(err(CookiePolicy::builder("__host-id").path("/a")).contains("Path=/"));
        assert!(err(CookiePolicy::builder("__Host-id").domain("a.com")).contains("Domain"));
        assert!(err(CookiePolicy::builder("__Secure-id").secure(false)).contains("Secure"));
        assert!(CookiePolicy::builder("__Secure-id")
            .domain(".a.com")
            .build()
            .is_ok());
    }

    #[test]
    fn set_cookie_budget_is_exact() {
        let p = CookiePolicy::builder("id").build().unwrap();
        let base = p
            .render("id", "", UnixTime::EPOCH, p.lifetime(), None)
            .unwrap()
            .len();
        let fits = "a".repeat(MAX_SET_COOKIE_LEN - base);
        let s = p
            .render("id", &fits, UnixTime::EPOCH, p.lifetime(), None)
            .unwrap();
        assert_eq!(s.len(), 4096);
        let over = "a".repeat(MAX_SET_COOKIE_LEN - base + 1);
        let e = p
            .render("id", &over, UnixTime::EPOCH, p.lifetime(), None)
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::SessionTooLarge);
        assert!(e.message().contains("4097"));
    }

    #[test]
    fn chunk_names_are_canonical_and_bounded() {
        let p = CookiePolicy::builder("id")
            .chunking(Some(Chunking::new(3)))
            .build()
            .unwrap();
        assert_eq!(p.chunk_index("id"), Some(0));
        assert_eq!(p.chunk_index("id.1"), Some(1));
        assert_eq!(p.chunk_index("id.2"), Some(2));
        for other in [
            "id.3", "id.01", "id.+1", "id.", "idx", "id.1a", "xid.1", "id.0",
        ] {
            assert_eq!(p.chunk_index(other), None, "{other}");
        }
        assert_eq!(p.chunk_name(2), "id.2");
    }
}
