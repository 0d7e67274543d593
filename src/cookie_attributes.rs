//! The attribute values a cookie policy is made of, in a leaf module of their own: the
//! defaults (`src/defaults.rs`) and the policy (`src/cookie_policy.rs`) both name them.

use std::time::Duration;

/// The `SameSite` attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SameSite {
    /// Sent only with same-site requests.
    Strict,
    /// Also sent with top-level cross-site navigations (the browsers' default, and ours).
    Lax,
    /// Sent with every request; requires `Secure`.
    None,
}

impl SameSite {
    pub(crate) fn to_cookie(self) -> cookie::SameSite {
        match self {
            SameSite::Strict => cookie::SameSite::Strict,
            SameSite::Lax => cookie::SameSite::Lax,
            SameSite::None => cookie::SameSite::None,
        }
    }
}

/// How long the browser keeps the cookie. The server enforces its own idle and absolute limits
/// from the authenticated timestamps either way; this only decides what the browser forgets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CookieLifetime {
    /// No Max-Age or Expires: the browser drops the cookie when it closes.
    BrowserSession,
    /// Max-Age and Expires both set (Expires for old clients), capped at 400 days and at the
    /// token's own expiry.
    Persistent(Duration),
}
