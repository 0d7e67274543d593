//! The demo app on actix-web: the same routes, variables and behaviour as
//! `examples/axum_app.rs`. This file is the whole app: copy it into your own project (with
//! `sealed-session`'s `actix` and `config` features, and `actix-web`, `serde`, `serde_json`,
//! `serde_urlencoded`, `tracing` and `tracing-subscriber` as dependencies) and it runs as is.
//!
//! ```text
//! cargo run --features actix,config --example actix_app
//! SESSION_COOKIE_SECURE=false cargo run --features actix,config --example actix_app   # plain-http clients
//! ```
//!
//! Settings come from the same `SEALED_SESSION_*` variables and file as in production
//! (`sealed_session::config`: `SEALED_SESSION_CONFIG=session.toml`, `SEALED_SESSION_KEYS`, …);
//! a misspelt `SEALED_SESSION_*` variable is an error. Three shorter names keep working:
//!
//! - `BIND`: the address to listen on, default `127.0.0.1:3000`;
//! - `SESSION_KEYS`: the key list, read as `SEALED_SESSION_KEYS` (`id:secret,id:secret`, the
//!   first is primary, `id:secret@2026-12-01T00:00:00Z` is the pending key). When no key is
//!   configured a fresh ring is generated and sessions do not survive a restart; make a ring
//!   with `sealed-session keygen --output session.toml` and start with
//!   `SEALED_SESSION_CONFIG=session.toml`;
//! - `SESSION_COOKIE_SECURE`: read as `SEALED_SESSION_SECURE` (`true`/`false`, `1`/`0`,
//!   `yes`/`no`, `on`/`off`; anything else is an error). Without Secure the cookie is named
//!   `session` (the default `__Host-` prefix requires Secure).
//!
//! Routes: `GET /` (a page with the user and a counter), `GET /api/counter` (increment),
//! `GET /api/me` (read only), `POST /api/login` (JSON `{"user": …}` or a form; renews the
//! session id), `POST /api/logout`, `GET /api/big?bytes=N` (grow the session until it no
//! longer fits its cookie: 413).
//!
//! Moving off Beaker: with `BEAKER_VALIDATE_KEY` (and `--features ...,beaker-compat`), users
//! who hold a Beaker cookie session stay logged in (see [`with_beaker`]).

use std::process::ExitCode;
use std::time::Duration;

use actix_web::http::header::{self, HeaderMap};
use actix_web::http::StatusCode;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use sealed_session::actix::SessionMiddleware;
use sealed_session::config::{parse_bool, Config};
use sealed_session::{Error, ErrorKind, Key, Session, SessionBuilder, SessionManager};
use serde::Deserialize;
use serde_json::json;

// ---------------------------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------------------------

/// Where the app listens unless `BIND` says otherwise.
const DEFAULT_BIND: &str = "127.0.0.1:3000";
/// The demo's idle timeout (shorter than the crate's two hours, to see it work).
const IDLE_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// The cookie name: the crate's `__Host-session` when Secure (the prefix requires it), plain
/// `session` for plain-http development.
fn cookie_name(secure: bool) -> &'static str {
    if secure {
        SessionManager::DEFAULT_COOKIE_NAME
    } else {
        "session"
    }
}

/// The demo's session settings on a builder: what `main` gets from the configuration when
/// nothing overrides the demo's defaults. The tests build the app with it.
pub fn configure<T: From<SessionManager>>(b: SessionBuilder<T>, secure: bool) -> SessionBuilder<T> {
    b.with_secure(secure)
        .with_cookie_name(cookie_name(secure))
        .with_idle_timeout(Some(IDLE_TIMEOUT))
}

/// What the app runs with (`Debug` shows key ids, never secrets).
#[derive(Debug)]
pub struct Settings {
    /// The address to listen on.
    pub bind: String,
    /// Keys and session settings, validated.
    pub config: Config,
    /// Whether the cookie is Secure, as far as the environment says.
    pub secure: bool,
}

impl Settings {
    /// Read the process's environment.
    ///
    /// # Errors
    /// A configuration error, naming the variable (or the file and key); never a value.
    pub fn from_env() -> Result<Settings, Error> {
        let vars = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
        Settings::from_vars(vars)
    }

    /// Read these variables as if they were the environment.
    ///
    /// # Errors
    /// As [`Settings::from_env`].
    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Result<Settings, Error> {
        let mut bind = DEFAULT_BIND.to_owned();
        let mut ours: Vec<(String, String)> = Vec::new();
        let mut renamed: Vec<(&str, &str)> = Vec::new();
        for (name, value) in vars {
            let alias = match name.as_str() {
                "BIND" if !value.trim().is_empty() => {
                    bind = value.trim().to_owned();
                    continue;
                }
                "SESSION_KEYS" => "SEALED_SESSION_KEYS",
                "SESSION_COOKIE_SECURE" => "SEALED_SESSION_SECURE",
                n if n.starts_with("SEALED_SESSION_") => {
                    ours.push((name, value));
                    continue;
                }
                _ => continue,
            };
            if value.trim().is_empty() {
                continue;
            }
            let short = if alias == "SEALED_SESSION_KEYS" {
                "SESSION_KEYS"
            } else {
                "SESSION_COOKIE_SECURE"
            };
            renamed.push((short, alias));
            ours.push((alias.to_owned(), value));
        }
        for (short, long) in &renamed {
            if set(&ours, long) > 1 {
                return Err(Error::new(
                    ErrorKind::InvalidConfig,
                    format!("{short} and {long} are both set; set one"),
                ));
            }
        }
        let origin = |long: &str| {
            renamed
                .iter()
                .find(|(_, l)| *l == long)
                .map_or_else(|| long.to_owned(), |(s, _)| (*s).to_owned())
        };
        let secure = match ours.iter().find(|(n, _)| n == "SEALED_SESSION_SECURE") {
            Some((_, v)) if !v.trim().is_empty() => parse_bool(v).map_err(|e| {
                Error::new(
                    e.kind(),
                    format!("{}: {}", origin("SEALED_SESSION_SECURE"), e.message()),
                )
            })?,
            _ => true,
        };

        // The demo's defaults sit under the environment. With a configuration file they do
        // not apply: the file (and the crate's defaults) decide.
        if set(&ours, "SEALED_SESSION_CONFIG") == 0 {
            if set(&ours, "SEALED_SESSION_IDLE_TIMEOUT") == 0 {
                ours.push((
                    "SEALED_SESSION_IDLE_TIMEOUT".to_owned(),
                    format!("{}s", IDLE_TIMEOUT.as_secs()),
                ));
            }
            if set(&ours, "SEALED_SESSION_COOKIE_NAME") == 0 {
                ours.push((
                    "SEALED_SESSION_COOKIE_NAME".to_owned(),
                    cookie_name(secure).to_owned(),
                ));
            }
            if set(&ours, "SEALED_SESSION_KEYS") == 0 && set(&ours, "SEALED_SESSION_KEYS_FILE") == 0
            {
                eprintln!(
                    "warning: no keys are configured; using a freshly generated key ring, so \
                     sessions will not survive a restart. Make a ring with \
                     `sealed-session keygen --output session.toml` (install it with \
                     `cargo install --path . --features cli`) and start with \
                     SEALED_SESSION_CONFIG=session.toml"
                );
                let key = Key::generate();
                let secret = key.to_base64();
                ours.push((
                    "SEALED_SESSION_KEYS".to_owned(),
                    format!("{}:{}", key.id(), secret.as_str()),
                ));
            }
        }
        if !secure {
            eprintln!("warning: the session cookie is not Secure: it travels over plain http");
        }
        let config = Config::loader().env_vars(ours).load().map_err(|e| {
            // Name the variable the user set, not the one it is read as.
            match renamed
                .iter()
                .find(|(_, long)| e.message().starts_with(long))
            {
                Some((short, long)) => Error::new(
                    e.kind(),
                    format!(
                        "{short}{}",
                        e.message().get(long.len()..).unwrap_or_default()
                    ),
                ),
                None => e,
            }
        })?;
        Ok(Settings {
            bind,
            config,
            secure,
        })
    }
}

/// How many of `vars` set `name` (to something other than white space).
fn set(vars: &[(String, String)], name: &str) -> usize {
    vars.iter()
        .filter(|(n, v)| n == name && !v.trim().is_empty())
        .count()
}

// ---------------------------------------------------------------------------------------------
// Migrating off Beaker
// ---------------------------------------------------------------------------------------------

/// With `BEAKER_VALIDATE_KEY` set (and the `beaker-compat` feature), a user who still holds a
/// Beaker cookie session keeps their session: its entries (`user`, `count`) become a sealed
/// session on their first request and the Beaker cookie is deleted. Optional:
/// `BEAKER_ENCRYPT_KEY`, `BEAKER_CRYPTO` (`cryptography`, the default, or `pycryptodome`),
/// `BEAKER_COOKIE_NAME` (default `beaker.session.id`), `BEAKER_TIMEOUT` (seconds, Beaker's
/// `timeout`). `lookup` reads a variable (the environment in `main`).
///
/// # Errors
/// A setting that cannot be used, naming the variable; never its value.
#[cfg(feature = "beaker-compat")]
pub fn with_beaker<T: From<SessionManager>>(
    builder: SessionBuilder<T>,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<SessionBuilder<T>, Error> {
    use sealed_session::beaker::{BeakerCrypto, BeakerReader};
    let var = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
    let Some(validate_key) = var("BEAKER_VALIDATE_KEY") else {
        return Ok(builder);
    };
    let invalid =
        |name: &str, what: &str| Error::new(ErrorKind::InvalidConfig, format!("{name}: {what}"));
    let mut reader = BeakerReader::builder(validate_key);
    if let Some(key) = var("BEAKER_ENCRYPT_KEY") {
        reader = reader.encrypt_key(key);
    }
    if let Some(crypto) = var("BEAKER_CRYPTO") {
        reader = reader.crypto(match crypto.trim() {
            "cryptography" => BeakerCrypto::Cryptography,
            "pycryptodome" | "pycrypto" => BeakerCrypto::Pycryptodome,
            _ => {
                return Err(invalid(
                    "BEAKER_CRYPTO",
                    "expected cryptography or pycryptodome",
                ))
            }
        });
    }
    if let Some(name) = var("BEAKER_COOKIE_NAME") {
        reader = reader.cookie_name(name.trim());
    }
    if let Some(timeout) = var("BEAKER_TIMEOUT") {
        let secs = timeout
            .trim()
            .parse::<u64>()
            .map_err(|_| invalid("BEAKER_TIMEOUT", "expected a whole number of seconds"))?;
        reader = reader.timeout_secs(Some(secs));
    }
    let reader = reader
        .build()
        .map_err(|e| Error::new(e.kind(), format!("BEAKER_*: {}", e.message())))?;
    Ok(builder.with_legacy_beaker(reader))
}

/// Without the `beaker-compat` feature: an error if `BEAKER_VALIDATE_KEY` asks for it.
///
/// # Errors
/// `BEAKER_VALIDATE_KEY` is set.
#[cfg(not(feature = "beaker-compat"))]
pub fn with_beaker<T: From<SessionManager>>(
    builder: SessionBuilder<T>,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<SessionBuilder<T>, Error> {
    match lookup("BEAKER_VALIDATE_KEY").filter(|v| !v.trim().is_empty()) {
        None => Ok(builder),
        Some(_) => Err(Error::new(
            ErrorKind::InvalidConfig,
            "BEAKER_VALIDATE_KEY is set, but this build has no Beaker reader: add the \
             beaker-compat feature (cargo run --features FRAMEWORK,config,beaker-compat ...)",
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------------------------

/// The most bytes `/api/big` accepts in one request (far above what a cookie can carry; the
/// point is to exercise the size limit, not to allocate without bound).
const MAX_BIG: usize = 64 * 1024;

/// The app's routes (wrap the app in a [`SessionMiddleware`]).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(index))
        .route("/api/counter", web::get().to(counter))
        .route("/api/me", web::get().to(me))
        .route("/api/greeting", web::get().to(greeting))
        .route("/api/login", web::post().to(login))
        .route("/api/logout", web::post().to(logout))
        .route("/api/big", web::get().to(big));
}

/// A JSON error body with a stable code; the details go to the log, never to the client.
fn refuse(status: StatusCode, code: &str) -> HttpResponse {
    HttpResponse::build(status).json(json!({ "error": code }))
}

/// A session error as a response: too large is the client's doing (413), the rest is ours.
fn session_error(e: &Error) -> HttpResponse {
    match e.kind() {
        ErrorKind::SessionTooLarge => refuse(StatusCode::PAYLOAD_TOO_LARGE, "session_too_large"),
        _ => {
            tracing::error!(error = %e, "session error");
            refuse(StatusCode::INTERNAL_SERVER_ERROR, "internal")
        }
    }
}

/// Whether a request prefers an HTML answer (a browser's form post): it is then redirected to
/// `/` instead of receiving JSON.
fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"))
}

fn see_root() -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/"))
        .finish()
}

fn count(session: &Session) -> u64 {
    session.get::<u64>("count").ok().flatten().unwrap_or(0)
}

/// `GET /`: the page, with the user and counter escaped.
async fn index(session: Session) -> HttpResponse {
    let user = session.get::<String>("user").ok().flatten();
    let who = match &user {
        Some(u) => format!("Signed in as <b id=\"user\">{}</b>.", escape(u)),
        None => "<span id=\"user\">Not signed in.</span>".to_owned(),
    };
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(format!(
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
            count = count(&session),
        ))
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

/// `GET /api/counter`: increment the counter.
async fn counter(session: Session) -> HttpResponse {
    let n = count(&session).saturating_add(1);
    match session.insert("count", &n) {
        Ok(()) => HttpResponse::Ok().json(json!({ "count": n })),
        Err(e) => session_error(&e),
    }
}

/// `GET /api/me`: a read-only view of the session.
async fn me(session: Session) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "user": session.get::<String>("user").ok().flatten(),
        "count": count(&session),
        "session_id": session.id().map(|id| id.to_string()),
    }))
}

/// `GET /api/greeting`: a greeting the handler marks for shared caches
/// (`Cache-Control: public, max-age=60`). The session middleware adds `Vary: Cookie`, holds back
/// a rolling refresh, and answers `private, no-store` if a cookie must go out all the same.
async fn greeting(session: Session) -> HttpResponse {
    let user = session.get::<String>("user").ok().flatten();
    let greeting = format!("Hello, {}", user.as_deref().unwrap_or("stranger"));
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=60"))
        .json(json!({ "greeting": greeting }))
}

#[derive(Deserialize)]
struct LoginBody {
    user: String,
}

/// `POST /api/login`: store the user and renew the session (a new id: no session fixation).
async fn login(session: Session, request: HttpRequest, body: web::Bytes) -> HttpResponse {
    let is_json = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    let parsed: Option<LoginBody> = if is_json {
        serde_json::from_slice(&body).ok()
    } else {
        serde_urlencoded::from_bytes(&body).ok()
    };
    let user = parsed.as_ref().map(|b| b.user.trim()).unwrap_or_default();
    if user.is_empty() || user.len() > 64 {
        return refuse(StatusCode::BAD_REQUEST, "invalid_user");
    }
    if let Err(e) = session.insert("user", &user) {
        return session_error(&e);
    }
    session.renew();
    if wants_html(request.headers()) {
        see_root()
    } else {
        HttpResponse::Ok().json(json!({ "user": user }))
    }
}

/// `POST /api/logout`: end the session.
async fn logout(session: Session, request: HttpRequest) -> HttpResponse {
    session.purge();
    if wants_html(request.headers()) {
        see_root()
    } else {
        HttpResponse::Ok().json(json!({ "user": null }))
    }
}

#[derive(Deserialize)]
struct BigQuery {
    bytes: usize,
}

/// `GET /api/big?bytes=N`: store N bytes; a session that no longer fits its cookie is refused
/// with 413, and the data is taken out again so the session stays usable.
async fn big(session: Session, q: web::Query<BigQuery>) -> HttpResponse {
    let bytes = q.bytes.min(MAX_BIG);
    if let Err(e) = session.insert("big", &"x".repeat(bytes)) {
        return session_error(&e);
    }
    if let Err(e) = session.ensure_fits() {
        session.remove("big");
        tracing::warn!(bytes, error = %e, "refused to grow the session past its cookie");
        return session_error(&e);
    }
    HttpResponse::Ok().json(json!({ "bytes": bytes }))
}

// ---------------------------------------------------------------------------------------------
// main
// ---------------------------------------------------------------------------------------------

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let settings = Settings::from_env()?;
    let builder = with_beaker(settings.config.session_builder(), &|n| {
        std::env::var(n).ok()
    })?;
    let middleware: SessionMiddleware = builder.build()?;
    let server = HttpServer::new(move || App::new().wrap(middleware.clone()).configure(routes))
        .bind(&settings.bind)
        .map_err(|e| format!("cannot listen on {} (BIND): {e}", settings.bind))?;
    for addr in server.addrs() {
        println!("actix-web demo listening on http://{addr}");
    }
    server.run().await?;
    Ok(())
}

#[actix_web::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    // Display, not Debug: the message names the variable or the address, and never a secret.
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
