//! What the axum and actix-web example apps share: settings from the environment and the
//! behaviour of every route, written once against [`Session`] so both apps answer identically.
//! Each app only maps its framework's requests onto these functions.

#![allow(dead_code, reason = "each app and test uses part of this module")]

use std::time::Duration;

use sealed_session::{Error, ErrorKind, KeyRing, Session, SessionBuilder, SessionManager};
use serde_json::{json, Value};

/// Settings read from the environment.
pub struct Settings {
    /// `BIND`, default `127.0.0.1:3000`.
    pub bind: String,
    /// From `SESSION_KEYS`, or generated.
    pub ring: KeyRing,
    /// `SESSION_COOKIE_SECURE`, default true.
    pub secure: bool,
}

impl Settings {
    /// Read `BIND`, `SESSION_KEYS` and `SESSION_COOKIE_SECURE`.
    pub fn from_env() -> Result<Settings, Error> {
        let bind = std::env::var("BIND").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
        let ring = match std::env::var("SESSION_KEYS") {
            Ok(list) if !list.trim().is_empty() => KeyRing::from_key_list(&list)?,
            _ => {
                eprintln!(
                    "warning: SESSION_KEYS is not set; using a freshly generated key ring. \
                     Sessions will not survive a restart."
                );
                KeyRing::generate()
            }
        };
        let secure = match std::env::var("SESSION_COOKIE_SECURE") {
            Ok(v) => !matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "false" | "0" | "no" | "off"
            ),
            Err(_) => true,
        };
        if !secure {
            eprintln!(
                "warning: SESSION_COOKIE_SECURE=false: the session cookie travels over plain http"
            );
        }
        Ok(Settings { bind, ring, secure })
    }

    /// The session configuration both apps use, ready for `build()` into a manager or a layer.
    pub fn session<T: From<SessionManager>>(&self) -> SessionBuilder<T> {
        configure(SessionBuilder::new(self.ring.clone()), self.secure)
    }
}

/// The apps' session settings: `__Host-session` when Secure (the prefix requires it), plain
/// `session` for http-only development.
pub fn configure<T: From<SessionManager>>(b: SessionBuilder<T>, secure: bool) -> SessionBuilder<T> {
    b.with_secure(secure)
        .with_cookie_name(if secure { "__Host-session" } else { "session" })
        .with_idle_timeout(Some(Duration::from_secs(30 * 60)))
}

/// The most bytes `/api/big` accepts in one request (far above what a cookie can carry; the
/// point is to exercise the size limit, not to allocate without bound).
pub const MAX_BIG: usize = 64 * 1024;

fn count(session: &Session) -> u64 {
    session.get::<u64>("count").ok().flatten().unwrap_or(0)
}

/// `GET /api/counter`: increment the counter.
pub fn counter(session: &Session) -> Result<Value, Refusal> {
    let n = count(session).saturating_add(1);
    session.insert("count", &n)?;
    Ok(json!({ "count": n }))
}

/// The `Cache-Control` of `/api/greeting`: a handler that asks shared caches to store a
/// personalised answer. The session layer keeps the session cookie out of such answers (a
/// rolling refresh waits; a cookie that must go out turns it into `private, no-store`), and
/// adds `Vary: Cookie`.
pub const GREETING_CACHE_CONTROL: &str = "public, max-age=60";

/// `GET /api/greeting`: a read-only, cacheable greeting (see [`GREETING_CACHE_CONTROL`]).
pub fn greeting(session: &Session) -> Value {
    let user = session.get::<String>("user").ok().flatten();
    json!({ "greeting": format!("Hello, {}", user.as_deref().unwrap_or("stranger")) })
}

/// `GET /api/me`: read-only view of the session.
pub fn me(session: &Session) -> Value {
    json!({
        "user": session.get::<String>("user").ok().flatten(),
        "count": count(session),
        "session_id": session.id().map(|id| id.to_string()),
    })
}

/// Why a route refused: the status code and a stable error code for the JSON body.
pub struct Refusal {
    /// The HTTP status.
    pub status: u16,
    /// The body: `{"error": CODE}`.
    pub body: Value,
}

impl From<Error> for Refusal {
    fn from(e: Error) -> Self {
        let (status, code) = match e.kind() {
            ErrorKind::SessionTooLarge => (413, "session_too_large"),
            _ => (500, "internal"),
        };
        Refusal {
            status,
            body: json!({ "error": code }),
        }
    }
}

/// `POST /api/login`: store the user and renew the session (new id: no session fixation).
pub fn login(session: &Session, user: &str) -> Result<Value, Refusal> {
    let user = user.trim();
    if user.is_empty() || user.len() > 64 {
        return Err(Refusal {
            status: 400,
            body: json!({ "error": "invalid_user" }),
        });
    }
    session.insert("user", &user)?;
    session.renew();
    Ok(json!({ "user": user }))
}

/// `POST /api/logout`: end the session.
pub fn logout(session: &Session) -> Value {
    session.purge();
    json!({ "user": null })
}

/// `GET /api/big?bytes=N`: store N bytes; a session that no longer fits its cookie is refused
/// with `SessionTooLarge`, and the data is taken out again so the session stays usable.
pub fn big(session: &Session, bytes: usize) -> Result<Value, Refusal> {
    let bytes = bytes.min(MAX_BIG);
    session.insert("big", &"x".repeat(bytes))?;
    if let Err(e) = session.ensure_fits() {
        session.remove("big");
        tracing::warn!(bytes, error = %e, "refused to grow the session past its cookie");
        return Err(e.into());
    }
    Ok(json!({ "bytes": bytes }))
}

/// `GET /`: the page, with the user and counter escaped.
pub fn page(session: &Session) -> String {
    let user = session.get::<String>("user").ok().flatten();
    let who = match &user {
        Some(u) => format!("Signed in as <b id=\"user\">{}</b>.", escape(u)),
        None => "<span id=\"user\">Not signed in.</span>".to_owned(),
    };
    format!(
        r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>sealed-session demo</title>
<style>body{{font:16px system-ui,sans-serif;max-width:36rem;margin:3rem auto;}}form{{margin:1rem 0}}</style>
</head>
<body>
<h1>sealed-session demo</h1>
<p>{who}</p>
<p>Counter: <b id="count">{count}</b> (<a href="/api/counter">increment</a>)</p>
<form method="post" action="/api/login">
  <label>User <input name="user" id="login-user" required maxlength="64"></label>
  <button type="submit" id="login">Sign in</button>
</form>
<form method="post" action="/api/logout"><button type="submit" id="logout">Sign out</button></form>
</body>
</html>
"#,
        count = count(session),
    )
}

fn escape(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '&' => "&amp;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&#39;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

/// Whether a request prefers an HTML answer (a browser's form post): it is then redirected to
/// `/` instead of receiving JSON.
pub fn wants_html(accept: Option<&str>) -> bool {
    accept.is_some_and(|a| a.contains("text/html"))
}
