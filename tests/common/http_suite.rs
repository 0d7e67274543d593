//! The framework-agnostic HTTP contract suite (issue 4): every case starts a REAL server of the
//! demo app (`examples/support/demo.rs`) on an ephemeral port of 127.0.0.1 and talks to it with a
//! REAL HTTP client (reqwest, with a cookie store where a browser would have one), asserting exact
//! status codes, JSON bodies and the presence, absence and attributes of every `Set-Cookie`.
//!
//! # Using it from a framework's test file
//!
//! ```text
//! #[path = "common/http_suite.rs"]
//! mod http_suite;                      // must be named `http_suite`, at the crate root
//!
//! async fn start_myframework(config: http_suite::ServerConfig) -> http_suite::RunningServer {
//!     // build the session layer with
//!     // `http_suite::with_case_settings(demo::configure(builder, config.secure), config)`;
//!     // serve the demo routes and the probe routes under it (or, when `config.session_layer`
//!     // is false, the probe routes alone without it) on 127.0.0.1:0;
//!     // return RunningServer::new(local_addr, stop_closure)
//! }
//!
//! http_suite!(start_myframework);      // one #[tokio::test] per case, named after the case
//! ```
//!
//! A start function is anything that implements [`StartServer`]: an `async fn(ServerConfig) ->
//! RunningServer`, or a closure returning any future of a [`RunningServer`] (a boxed one
//! included). It must serve the demo routes (`/`, `/api/counter`, `/api/me`, `/api/login`,
//! `/api/logout`, `/api/big`) under the session configuration `ServerConfig` describes, with the
//! cookie name `session` (plain http: `secure` is always false here, or reqwest's store would not
//! send the cookie back), and stop serving when [`RunningServer::stop`] is awaited.
//!
//! Cases (one test each, see [`http_suite!`]): `login_counter_me_logout`,
//! `login_accepts_form_and_redirects_html`, `login_rejects_invalid_user`,
//! `read_only_requests_send_no_cookie`, `login_renews_session_id`,
//! `bad_cookies_give_fresh_session`, `duplicate_cookie_names_keep_valid_session`,
//! `key_rotation_reseals_then_retires`, `idle_timeout_expires_session`,
//! `rolling_refresh_until_absolute_lifetime`, `oversized_session_is_refused_and_kept`,
//! `concurrent_first_requests_get_distinct_sessions`, `concurrent_increments_on_one_session`,
//! and the security checklist's HTTP rows: `checklist_01_no_cookie_no_set_cookie`,
//! `checklist_28_duplicate_names_valid_cookie_wins`,
//! `checklist_29_malformed_neighbours_keep_our_cookie`, `checklist_30_thousands_of_tiny_cookies`,
//! `checklist_31_only_our_exact_name_is_read`,
//! `checklist_32_concurrent_first_requests_are_independent`,
//! `checklist_33_logout_deletion_mirrors_issued_cookie`,
//! `checklist_34_oversized_session_is_a_typed_error`, `checklist_36_crate_errors_are_opaque`,
//! and the request protocol's seams (issue 13): `login_response_is_private_and_varies_on_cookie`,
//! `public_response_defers_refresh_and_never_stores_a_cookie`,
//! `planted_chunks_never_break_or_delete_a_session`,
//! `clocks_59_seconds_apart_alternate_without_rejection`, `logout_ends_copies_taken_before_login`,
//! and CSRF tokens and flash messages (issue 18): `csrf_missing_token_is_refused_without_change`,
//! `csrf_other_sessions_token_is_refused`, `csrf_token_survives_login_renew`,
//! `csrf_token_refused_after_logout`, `csrf_session_token_and_csrf_token_never_swap`,
//! `flash_after_login_and_logout_shows_once` (routes `/api/csrf` and the CSRF-checked login and
//! logout).
//! (Those need the routes `/api/greeting`, which marks its answer `Cache-Control: public`, and
//! [`ServerConfig::chunking`] and [`ServerConfig::revocation`] applied by the start function.)
//! And the adapters' own edges, once written in each adapter's test file:
//! `extractor_without_layer_is_opaque_500` and `untouched_session_sends_no_cookie` (they need the
//! probe routes and [`ServerConfig::session_layer`]).
//!
//! # Probe routes
//!
//! Beside the demo routes, a start function serves two routes the demo app has no reason to
//! have (so they are not in it), under the same session layer: the only handlers the suite needs
//! written once per framework, each a line around a helper here.
//!
//! - [`PROBE_UNTOUCHED`]: never touches the session. It answers `200` with
//!   [`untouched_body`]`(the session the layer put in the request's extensions)`, and `501` when
//!   that gives `None` (no layer ran).
//! - [`PROBE_EXTRACT`]: takes the framework's `Session` extractor and answers `200` with
//!   [`EXTRACTED`].
//!
//! When [`ServerConfig::session_layer`] is `false`, the start function serves only these two
//! routes, and WITHOUT the session layer: an application that forgot it.

// clippy.toml's `allow-*-in-tests` covers `#[test]` functions only, not the helpers they call;
// here a panic is a failed test, never a crash on hostile input.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers: a panic is a failed test"
)]

use std::collections::HashSet;
use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use cookie::{Cookie, Expiration, SameSite};
use reqwest::header::{ACCEPT, CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Client, RequestBuilder, StatusCode};
use sealed_session::revocation::{MemoryRevocations, Revocation};
use sealed_session::{
    Chunking, Key, KeyId, KeyRing, ManualClock, Session, SessionBuilder, SessionId, SessionManager,
    UnixTime,
};
use serde_json::{json, Value};

// ---------------------------------------------------------------------------------------------
// The API a framework's start function implements
// ---------------------------------------------------------------------------------------------

/// A boxed, sendable future (what a start or stop function may return).
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// The cookie name the demo uses on plain http (`demo::configure(_, false)`).
pub const COOKIE_NAME: &str = "session";
/// The demo's idle timeout (`demo::configure`).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// Where every case's [`ManualClock`] starts (2023-11-14T22:13:20Z).
pub const T0: UnixTime = UnixTime::from_secs(1_700_000_000);

/// What a start function must configure the demo app's session layer with.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The key ring (`SessionBuilder::new(ring)` / `SessionLayer::builder(ring)`).
    pub ring: KeyRing,
    /// The clock: `.with_clock(config.clock)`. Cases move it instead of sleeping, and share it
    /// between the servers of one case.
    pub clock: Arc<ManualClock>,
    /// `demo::configure(builder, config.secure)`: always `false` here (cookie name `session`,
    /// no Secure attribute), so the client sends the cookie back over plain http.
    pub secure: bool,
    /// When set, `.with_lifetime(lifetime)` after `demo::configure` (absolute lifetime; the
    /// default is 7 days).
    pub lifetime: Option<Duration>,
    /// When set, `.with_chunking(Some(Chunking::new(n)))`: sessions over one cookie are split.
    pub chunking: Option<usize>,
    /// When set, `.with_revocation(revocation)` (shared by the servers of a case).
    pub revocation: Option<Revocation>,
    /// `true` (the default): the demo routes and the probe routes under the session layer.
    /// `false`: only the probe routes, without any session layer (see "Probe routes").
    pub session_layer: bool,
}

impl ServerConfig {
    /// The demo settings over `ring` and `clock`: plain http, default lifetime.
    pub fn new(ring: KeyRing, clock: &Arc<ManualClock>) -> Self {
        ServerConfig {
            ring,
            clock: Arc::clone(clock),
            secure: false,
            lifetime: None,
            chunking: None,
            revocation: None,
            session_layer: true,
        }
    }

    /// The probe routes alone, with no session layer at all.
    pub fn without_session_layer(mut self) -> Self {
        self.session_layer = false;
        self
    }

    /// The same with chunking over at most `chunks` cookies.
    pub fn with_chunking(mut self, chunks: usize) -> Self {
        self.chunking = Some(chunks);
        self
    }

    /// The same with a revocation store.
    pub fn with_revocation(mut self, revocation: Revocation) -> Self {
        self.revocation = Some(revocation);
        self
    }

    /// The same with an absolute lifetime.
    pub fn with_lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = Some(lifetime);
        self
    }
}

/// The probe route that never touches the session (see "Probe routes").
pub const PROBE_UNTOUCHED: &str = "/probe/untouched";
/// The probe route that takes the `Session` extractor (see "Probe routes").
pub const PROBE_EXTRACT: &str = "/probe/extract";
/// [`PROBE_EXTRACT`]'s answer.
pub const EXTRACTED: &str = "extracted";

/// [`PROBE_UNTOUCHED`]'s answer for the session the layer left in the request (`None` without a
/// layer: the route answers `501`). `is_loaded` never opens the cookie: it says whether the layer
/// opened it on its own, which it must not do for a route that never asks.
pub fn untouched_body(session: Option<&Session>) -> Option<String> {
    session.map(|s| format!("ok loaded={}", s.is_loaded()))
}

/// What `config` asks for beyond the demo's own settings (the clock, and the lifetime, chunking
/// and revocation when set), on a builder `demo::configure` already set up.
pub fn with_case_settings<T: From<SessionManager>>(
    demo: SessionBuilder<T>,
    config: ServerConfig,
) -> SessionBuilder<T> {
    let mut builder = demo.with_clock(config.clock);
    if let Some(lifetime) = config.lifetime {
        builder = builder.with_lifetime(lifetime);
    }
    if let Some(chunks) = config.chunking {
        builder = builder.with_chunking(Some(Chunking::new(chunks)));
    }
    if let Some(revocation) = config.revocation {
        builder = builder.with_revocation(revocation);
    }
    builder
}

/// A server a start function has started: its base URL and how to stop it.
pub struct RunningServer {
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub base_url: String,
    stop: Box<dyn FnOnce() -> BoxFuture<()> + Send>,
}

impl RunningServer {
    /// A server listening on `addr`; awaiting `stop()`'s future must stop it (and should release
    /// the port; a case never reuses one, every server binds `127.0.0.1:0`).
    pub fn new<F, Fut>(addr: SocketAddr, stop: F) -> Self
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        RunningServer {
            base_url: format!("http://{addr}"),
            stop: Box::new(move || -> BoxFuture<()> { Box::pin(stop()) }),
        }
    }

    /// The absolute URL of `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Stop the server.
    pub async fn stop(self) {
        (self.stop)().await;
    }
}

impl fmt::Debug for RunningServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunningServer")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

/// Starts the demo app for one [`ServerConfig`]. Implemented for every `Fn(ServerConfig) -> F`
/// where `F` is a future of a [`RunningServer`]: an `async fn` or a closure returning a
/// [`BoxFuture`].
pub trait StartServer {
    /// Start a server; it listens when the future completes.
    fn start(&self, config: ServerConfig) -> impl Future<Output = RunningServer>;
}

impl<F, Fut> StartServer for F
where
    F: Fn(ServerConfig) -> Fut,
    Fut: Future<Output = RunningServer>,
{
    fn start(&self, config: ServerConfig) -> impl Future<Output = RunningServer> {
        self(config)
    }
}

/// Expands to one `#[tokio::test]` per case of the suite, each named after its case and calling
/// it with the given start function (a path to an item implementing [`StartServer`]).
///
/// ```text
/// http_suite!(start_axum);
/// ```
#[macro_export]
macro_rules! http_suite {
    ($start:path) => {
        $crate::http_suite!(
            @cases $start;
            login_counter_me_logout,
            login_accepts_form_and_redirects_html,
            login_rejects_invalid_user,
            read_only_requests_send_no_cookie,
            login_renews_session_id,
            bad_cookies_give_fresh_session,
            duplicate_cookie_names_keep_valid_session,
            key_rotation_reseals_then_retires,
            idle_timeout_expires_session,
            rolling_refresh_until_absolute_lifetime,
            oversized_session_is_refused_and_kept,
            concurrent_first_requests_get_distinct_sessions,
            concurrent_increments_on_one_session,
            checklist_01_no_cookie_no_set_cookie,
            checklist_28_duplicate_names_valid_cookie_wins,
            checklist_29_malformed_neighbours_keep_our_cookie,
            checklist_30_thousands_of_tiny_cookies,
            checklist_31_only_our_exact_name_is_read,
            checklist_32_concurrent_first_requests_are_independent,
            checklist_33_logout_deletion_mirrors_issued_cookie,
            checklist_34_oversized_session_is_a_typed_error,
            checklist_36_crate_errors_are_opaque,
            login_response_is_private_and_varies_on_cookie,
            public_response_defers_refresh_and_never_stores_a_cookie,
            planted_chunks_never_break_or_delete_a_session,
            clocks_59_seconds_apart_alternate_without_rejection,
            logout_ends_copies_taken_before_login,
            csrf_missing_token_is_refused_without_change,
            csrf_other_sessions_token_is_refused,
            csrf_token_survives_login_renew,
            csrf_token_refused_after_logout,
            csrf_session_token_and_csrf_token_never_swap,
            flash_after_login_and_logout_shows_once,
            extractor_without_layer_is_opaque_500,
            untouched_session_sends_no_cookie,
        );
    };
    (@cases $start:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                $crate::http_suite::init_tracing();
                $crate::http_suite::$case(&$start).await;
            }
        )*
    };
}

// ---------------------------------------------------------------------------------------------
// Client-side helpers
// ---------------------------------------------------------------------------------------------

/// Log the server's `tracing` events into the test output when `RUST_LOG` is set.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
}

/// A fresh clock at [`T0`].
pub fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(T0))
}

/// A ring with one generated primary key.
pub fn ring() -> KeyRing {
    KeyRing::generate()
}

/// A browser-like client: its own cookie store, redirects not followed (so a `303` is seen).
pub fn browser() -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()
        .expect("a reqwest client")
}

/// A client WITHOUT a cookie store: the case writes every `Cookie` header itself.
pub fn bare_client() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()
        .expect("a reqwest client")
}

/// A response, read to the end.
#[derive(Debug)]
pub struct Reply {
    /// What was asked, for assertion messages.
    pub what: String,
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: reqwest::header::HeaderMap,
    /// Every raw `Set-Cookie` value, in order.
    pub set_cookies: Vec<String>,
    /// The body.
    pub body: Vec<u8>,
}

impl Reply {
    /// The body as JSON (panics with the body text when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{}: body is not JSON ({e}): {:?}",
                self.what,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Assert the status and the JSON body exactly.
    pub fn expect_json(&self, status: StatusCode, body: &Value) {
        assert_eq!(
            self.status,
            status,
            "{}: status; body {}",
            self.what,
            self.text()
        );
        assert_eq!(&self.json(), body, "{}: body", self.what);
    }

    /// Assert the response sets no cookie at all.
    pub fn expect_no_set_cookie(&self) {
        assert!(
            self.set_cookies.is_empty(),
            "{}: expected no Set-Cookie, got {:?}",
            self.what,
            self.set_cookies
        );
    }

    /// Assert exactly one `Set-Cookie`, issuing a `session` cookie with the demo's plain-http
    /// attributes (`Path=/; HttpOnly; SameSite=Lax`, no Secure, no Domain, a browser-session
    /// cookie: no Max-Age or Expires); returns its value (the token).
    pub fn expect_issued(&self) -> String {
        assert_eq!(
            self.set_cookies.len(),
            1,
            "{}: expected one Set-Cookie, got {:?}",
            self.what,
            self.set_cookies
        );
        let raw = &self.set_cookies[0];
        let c = Cookie::parse(raw.as_str())
            .unwrap_or_else(|e| panic!("{}: unparsable Set-Cookie {raw:?}: {e}", self.what));
        assert_eq!(c.name(), COOKIE_NAME, "{}: name in {raw:?}", self.what);
        assert!(
            !c.value().is_empty(),
            "{}: empty value in {raw:?}",
            self.what
        );
        assert_eq!(c.path(), Some("/"), "{}: Path in {raw:?}", self.what);
        assert_eq!(
            c.http_only(),
            Some(true),
            "{}: HttpOnly in {raw:?}",
            self.what
        );
        assert_ne!(c.secure(), Some(true), "{}: Secure in {raw:?}", self.what);
        assert_eq!(
            c.same_site(),
            Some(SameSite::Lax),
            "{}: SameSite in {raw:?}",
            self.what
        );
        assert_eq!(c.domain(), None, "{}: Domain in {raw:?}", self.what);
        assert_eq!(c.max_age(), None, "{}: Max-Age in {raw:?}", self.what);
        assert_eq!(c.expires(), None, "{}: Expires in {raw:?}", self.what);
        c.value().to_owned()
    }

    /// Assert exactly one `Set-Cookie`, deleting the `session` cookie: an empty value,
    /// `Max-Age=0`, an `Expires` in the past and the same `Path=/`.
    pub fn expect_deletion(&self) {
        assert_eq!(
            self.set_cookies.len(),
            1,
            "{}: expected one deletion Set-Cookie, got {:?}",
            self.what,
            self.set_cookies
        );
        let raw = &self.set_cookies[0];
        let c = Cookie::parse(raw.as_str())
            .unwrap_or_else(|e| panic!("{}: unparsable Set-Cookie {raw:?}: {e}", self.what));
        assert_eq!(c.name(), COOKIE_NAME, "{}: name in {raw:?}", self.what);
        assert_eq!(c.value(), "", "{}: value in {raw:?}", self.what);
        assert_eq!(
            c.max_age(),
            Some(cookie::time::Duration::ZERO),
            "{}: Max-Age in {raw:?}",
            self.what
        );
        match c.expires() {
            Some(Expiration::DateTime(at)) => assert!(
                at <= cookie::time::OffsetDateTime::now_utc(),
                "{}: Expires not in the past in {raw:?}",
                self.what
            ),
            other => panic!("{}: Expires {other:?} in {raw:?}", self.what),
        }
        assert_eq!(c.path(), Some("/"), "{}: Path in {raw:?}", self.what);
    }

    /// Assert a `200` from `/api/me` for `user` with `count`, and return the 22-character session
    /// id.
    pub fn expect_me(&self, user: &str, count: u64) -> String {
        assert_eq!(self.status, StatusCode::OK, "{}: status", self.what);
        let body = self.json();
        let id = body["session_id"]
            .as_str()
            .unwrap_or_else(|| panic!("{}: no session_id in {body}", self.what))
            .to_owned();
        assert_eq!(id.len(), 22, "{}: session_id {id:?}", self.what);
        assert!(
            SessionId::parse(&id).is_some(),
            "{}: session_id {id:?} is not base64url",
            self.what
        );
        assert_eq!(
            body,
            json!({ "user": user, "count": count, "session_id": id }),
            "{}: body",
            self.what
        );
        id
    }

    /// Assert a `200` from `/api/me` showing a fresh session.
    pub fn expect_fresh_me(&self) {
        self.expect_json(StatusCode::OK, &fresh_me());
    }
}

/// `/api/me` for a session nothing was stored in.
pub fn fresh_me() -> Value {
    json!({ "user": null, "count": 0, "session_id": null })
}

/// Send a request and read the whole response; `what` names it in assertion messages. Any `5xx`
/// fails the test (see [`send_raw`] to expect one).
pub async fn send(what: impl Into<String>, request: RequestBuilder) -> Reply {
    let reply = send_raw(what, request).await;
    assert!(
        !reply.status.is_server_error(),
        "{}: server error {}: {:?}",
        reply.what,
        reply.status,
        reply.text()
    );
    reply
}

/// Send a request and read the whole response, whatever its status.
pub async fn send_raw(what: impl Into<String>, request: RequestBuilder) -> Reply {
    let what = what.into();
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("{what}: request failed: {e}"));
    let status = response.status();
    let headers = response.headers().clone();
    let set_cookies = headers
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| {
            v.to_str()
                .unwrap_or_else(|e| panic!("{what}: non-ASCII Set-Cookie: {e}"))
                .to_owned()
        })
        .collect();
    let body = response
        .bytes()
        .await
        .unwrap_or_else(|e| panic!("{what}: reading the body failed: {e}"))
        .to_vec();
    Reply {
        what,
        status,
        headers,
        set_cookies,
        body,
    }
}

/// The header the demo reads CSRF tokens from.
pub const CSRF_HEADER: &str = "X-CSRF-Token";

/// `GET /api/csrf` with the client's cookies, or with `cookie` (a `Cookie` header) for a
/// [`bare_client`]: the token, and the session pair the answer issued if it started a session.
pub async fn fetch_csrf(
    client: &Client,
    server: &RunningServer,
    cookie: Option<&str>,
) -> (String, Option<String>) {
    let mut request = get(client, server, "/api/csrf");
    if let Some(cookie) = cookie {
        request = with_cookie(request, cookie);
    }
    let r = send("csrf token", request).await;
    assert_eq!(r.status, StatusCode::OK, "{}: {}", r.what, r.text());
    let token = r.json()["csrf_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{}: no csrf_token in {}", r.what, r.text()))
        .to_owned();
    let issued = (!r.set_cookies.is_empty()).then(|| session_pair(&r.expect_issued()));
    (token, issued)
}

/// `POST /api/login` with a JSON body and a CSRF token fetched first for the client's session
/// (a [`browser`] keeps the cookie that fetch may start).
pub async fn login(client: &Client, server: &RunningServer, user: &str) -> RequestBuilder {
    let (token, _) = fetch_csrf(client, server, None).await;
    client
        .post(server.url("/api/login"))
        .header(CSRF_HEADER, token)
        .json(&json!({ "user": user }))
}

/// `POST /api/logout` with a CSRF token fetched first for the client's session.
pub async fn logout(client: &Client, server: &RunningServer) -> RequestBuilder {
    let (token, _) = fetch_csrf(client, server, None).await;
    client
        .post(server.url("/api/logout"))
        .header(CSRF_HEADER, token)
}

/// For a [`bare_client`]: `POST /api/login` for the session `cookie` (a `Cookie` header), or a
/// session started by fetching the token when `None`, with that session's CSRF token.
pub async fn login_as(
    client: &Client,
    server: &RunningServer,
    user: &str,
    cookie: Option<&str>,
) -> RequestBuilder {
    let (token, issued) = fetch_csrf(client, server, cookie).await;
    let cookie = cookie
        .map(str::to_owned)
        .or(issued)
        .expect("a session to log in with");
    with_cookie(
        client
            .post(server.url("/api/login"))
            .header(CSRF_HEADER, token)
            .json(&json!({ "user": user })),
        &cookie,
    )
}

/// For a [`bare_client`]: `POST /api/logout` for the session `cookie`, with its CSRF token.
pub async fn logout_as(client: &Client, server: &RunningServer, cookie: &str) -> RequestBuilder {
    let (token, _) = fetch_csrf(client, server, Some(cookie)).await;
    with_cookie(
        client
            .post(server.url("/api/logout"))
            .header(CSRF_HEADER, token),
        cookie,
    )
}

/// `GET` a path.
pub fn get(client: &Client, server: &RunningServer, path: &str) -> RequestBuilder {
    client.get(server.url(path))
}

/// The same request with an explicit `Cookie` header (for [`bare_client`]s).
pub fn with_cookie(request: RequestBuilder, cookie_header: &str) -> RequestBuilder {
    request.header(COOKIE, cookie_header)
}

/// `session=TOKEN`.
pub fn session_pair(token: &str) -> String {
    format!("{COOKIE_NAME}={token}")
}

/// The key id a token was sealed under: base64url without padding; byte 0 is the version,
/// bytes 1..5 the key id, big-endian.
pub fn key_id_of(token: &str) -> u32 {
    let bytes = URL_SAFE_NO_PAD
        .decode(token)
        .unwrap_or_else(|e| panic!("token {token:?} is not base64url: {e}"));
    u32::from_be_bytes(bytes[1..5].try_into().expect("four bytes"))
}

/// A generated key under an explicit id.
pub fn key_with_id(id: u32) -> Key {
    Key::generate().with_id(KeyId::new(id))
}

/// Log in with a [`bare_client`] and return the session token.
async fn token_for(client: &Client, server: &RunningServer, user: &str) -> String {
    let r = send(
        "login (bare client)",
        login_as(client, server, user, None).await,
    )
    .await;
    r.expect_json(StatusCode::OK, &json!({ "user": user }));
    r.expect_issued()
}

// ---------------------------------------------------------------------------------------------
// The cases
// ---------------------------------------------------------------------------------------------

/// 1. Login, count three times, read, log out, read again.
pub async fn login_counter_me_logout(start: &impl StartServer) {
    let clock = clock();
    let server = start.start(ServerConfig::new(ring(), &clock)).await;
    let b = browser();

    let r = send("login", login(&b, &server, "ann").await).await;
    r.expect_json(StatusCode::OK, &json!({ "user": "ann" }));
    r.expect_issued();

    for n in 1..=3u64 {
        let r = send(format!("counter #{n}"), get(&b, &server, "/api/counter")).await;
        r.expect_json(StatusCode::OK, &json!({ "count": n }));
        r.expect_issued();
    }

    let r = send("me after login", get(&b, &server, "/api/me")).await;
    r.expect_me("ann", 3);
    r.expect_no_set_cookie();

    let r = send("logout", logout(&b, &server).await).await;
    r.expect_json(StatusCode::OK, &json!({ "user": null }));
    r.expect_deletion();

    let r = send("me after logout", get(&b, &server, "/api/me")).await;
    r.expect_fresh_me();
    r.expect_no_set_cookie();

    server.stop().await;
}

/// 2. Login with a form body; `Accept: text/html` answers `303 See Other` to `/`.
pub async fn login_accepts_form_and_redirects_html(start: &impl StartServer) {
    let clock = clock();
    let server = start.start(ServerConfig::new(ring(), &clock)).await;

    // A browser's form post, with the token as the page's hidden field.
    let b = browser();
    let (token, _) = fetch_csrf(&b, &server, None).await;
    let r = send(
        "form login, Accept: text/html",
        b.post(server.url("/api/login"))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(ACCEPT, "text/html,application/xhtml+xml,*/*;q=0.8")
            .body(format!("user=bob&csrf_token={token}")),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.what);
    assert_eq!(
        r.headers.get(LOCATION).and_then(|v| v.to_str().ok()),
        Some("/"),
        "{}: Location",
        r.what
    );
    r.expect_issued();

    let r = send("me after form login", get(&b, &server, "/api/me")).await;
    r.expect_me("bob", 0);
    r.expect_no_set_cookie();

    let r = send("index after form login", get(&b, &server, "/")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.what);
    assert!(
        r.text().contains("Signed in as <b id=\"user\">bob</b>."),
        "{}: {}",
        r.what,
        r.text()
    );
    // The page showed (and so removed) the login's flash message: the session is written.
    r.expect_issued();
    let r = send("index again", get(&b, &server, "/")).await;
    r.expect_no_set_cookie();

    // The same form body without `Accept: text/html` answers JSON.
    let b = browser();
    let (token, _) = fetch_csrf(&b, &server, None).await;
    let r = send(
        "form login, no Accept",
        b.post(server.url("/api/login"))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(format!("csrf_token={token}&user=bob")),
    )
    .await;
    r.expect_json(StatusCode::OK, &json!({ "user": "bob" }));
    r.expect_issued();

    server.stop().await;
}

/// Bonus: an unacceptable user name or body is a `400` and touches no cookie.
pub async fn login_rejects_invalid_user(start: &impl StartServer) {
    let clock = clock();
    let server = start.start(ServerConfig::new(ring(), &clock)).await;
    let b = browser();
    let invalid = json!({ "error": "invalid_user" });

    for (what, user) in [
        ("empty user", String::new()),
        ("65-char user", "a".repeat(65)),
    ] {
        let r = send(what, login(&b, &server, &user).await).await;
        r.expect_json(StatusCode::BAD_REQUEST, &invalid);
        r.expect_no_set_cookie();
    }
    let (token, _) = fetch_csrf(&b, &server, None).await;
    let r = send(
        "malformed JSON",
        b.post(server.url("/api/login"))
            .header(CSRF_HEADER, token)
            .header(CONTENT_TYPE, "application/json")
            .body("{\"user\":"),
    )
    .await;
    r.expect_json(StatusCode::BAD_REQUEST, &invalid);
    r.expect_no_set_cookie();

    // Nothing was stored (but the session the CSRF token started).
    let r = send("me", get(&b, &server, "/api/me")).await;
    assert_eq!(r.json()["user"], Value::Null, "{}", r.text());
    assert_eq!(r.json()["count"], 0, "{}", r.text());
    r.expect_no_set_cookie();

    server.stop().await;
}

/// 3. Read-only requests on a fresh-enough session, and requests without a cookie, send no
///    `Set-Cookie`.
pub async fn read_only_requests_send_no_cookie(start: &impl StartServer) {
    let clock = clock();
    let server = start.start(ServerConfig::new(ring(), &clock)).await;
    let b = browser();

    let r = send("me without a cookie", get(&b, &server, "/api/me")).await;
    r.expect_fresh_me();
    r.expect_no_set_cookie();
    let r = send("index without a cookie", get(&b, &server, "/")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.what);
    assert!(r.text().contains("Not signed in."), "{}", r.what);
    // The page's forms carry a CSRF token, bound to a session it starts (issue 18).
    r.expect_issued();

    let r = send("login", login(&b, &server, "ann").await).await;
    r.expect_issued();
    for i in 1..=2 {
        let r = send(format!("me #{i}"), get(&b, &server, "/api/me")).await;
        r.expect_me("ann", 0);
        r.expect_no_set_cookie();
        let r = send(format!("index #{i}"), get(&b, &server, "/")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.what);
        assert!(r.text().contains("<b id=\"user\">ann</b>"), "{}", r.what);
        r.expect_no_set_cookie();
    }

    server.stop().await;
}

/// 4. Login renews the session id (no session fixation), and so does a second login.
pub async fn login_renews_session_id(start: &impl StartServer) {
    let clock = clock();
    let server = start.start(ServerConfig::new(ring(), &clock)).await;
    let b = browser();

    let r = send("counter before login", get(&b, &server, "/api/counter")).await;
    r.expect_json(StatusCode::OK, &json!({ "count": 1 }));
    r.expect_issued();
    let before = send("me before login", get(&b, &server, "/api/me"))
        .await
        .expect_me_anonymous(1);

    send("login ann", login(&b, &server, "ann").await)
        .await
        .expect_issued();
    let ann = send("me as ann", get(&b, &server, "/api/me"))
        .await
        .expect_me("ann", 1);
    assert_ne!(ann, before, "login must change the session id");

    send("login bob", login(&b, &server, "bob").await)
        .await
        .expect_issued();
    let bob = send("me as bob", get(&b, &server, "/api/me"))
        .await
        .expect_me("bob", 1);
    assert_ne!(bob, ann, "a second login must change the session id");
    assert_ne!(bob, before);

    server.stop().await;
}

impl Reply {
    /// Assert a `200` from `/api/me` for an anonymous session with `count` and an id; return it.
    pub fn expect_me_anonymous(&self, count: u64) -> String {
        assert_eq!(self.status, StatusCode::OK, "{}: status", self.what);
        let body = self.json();
        let id = body["session_id"]
            .as_str()
            .unwrap_or_else(|| panic!("{}: no session_id in {body}", self.what))
            .to_owned();
        assert_eq!(id.len(), 22, "{}: session_id {id:?}", self.what);
        assert_eq!(
            body,
            json!({ "user": null, "count": count, "session_id": id }),
            "{}: body",
            self.what
        );
        id
    }
}

/// 5. Tampered, truncated, garbage, empty, oversized and foreign-name cookies: a `200` with a
///    fresh session, never a `5xx`; our refused cookie is deleted, a foreign one left alone.
pub async fn bad_cookies_give_fresh_session(start: &impl StartServer) {
    let clock = clock();
    let server = start.start(ServerConfig::new(ring(), &clock)).await;
    let c = bare_client();
    let token = token_for(&c, &server, "ann").await;

    // The valid token works with an explicit header.
    let r = send(
        "valid token",
        with_cookie(get(&c, &server, "/api/me"), &session_pair(&token)),
    )
    .await;
    r.expect_me("ann", 0);
    r.expect_no_set_cookie();

    let mut tampered = token.clone().into_bytes();
    let mid = tampered.len() / 2;
    tampered[mid] = if tampered[mid] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).expect("ASCII");
    let truncated = token[..token.len() / 2].to_owned();

    // (what, Cookie header, whether a deletion cookie for `session` is expected)
    let cases: Vec<(&str, String, bool)> = vec![
        ("tampered", session_pair(&tampered), true),
        ("truncated", session_pair(&truncated), true),
        ("garbage", session_pair("!!!"), true),
        ("empty", session_pair(""), true),
        // Over the 4096-byte token limit: refused unread (Rejection::TooLarge), so deleted too.
        ("5000 chars", session_pair(&"A".repeat(5000)), true),
        ("foreign name", format!("other={token}"), false),
    ];
    for (what, header, deleted) in &cases {
        let r = send(
            format!("{what}: me"),
            with_cookie(get(&c, &server, "/api/me"), header),
        )
        .await;
        r.expect_fresh_me();
        if *deleted {
            r.expect_deletion();
        } else {
            r.expect_no_set_cookie();
        }

        // Writing to the fresh session issues a new cookie (and nothing else).
        let r = send(
            format!("{what}: counter"),
            with_cookie(get(&c, &server, "/api/counter"), header),
        )
        .await;
        r.expect_json(StatusCode::OK, &json!({ "count": 1 }));
        let new = r.expect_issued();
        assert_ne!(new, token, "{what}: a new session, not the old one");
    }

    server.stop().await;
}

/// 12. A duplicate cookie with our name (cookie tossing) never displaces the valid one, in
///     either order, in one `Cookie` header or two.
pub async fn duplicate_cookie_names_keep_valid_session(start: &impl StartServer) {
    let clock = clock();
    let server = start.start(ServerConfig::new(ring(), &clock)).await;
    let c = bare_client();
    let token = token_for(&c, &server, "ann").await;
    let valid = session_pair(&token);
    let garbage = session_pair("garbage");

    for (what, header) in [
        ("garbage first", format!("{garbage}; {valid}")),
        ("valid first", format!("{valid}; {garbage}")),
    ] {
        let r = send(what, with_cookie(get(&c, &server, "/api/me"), &header)).await;
        r.expect_me("ann", 0);
        r.expect_no_set_cookie();
    }
    for (what, first, second) in [
        ("two headers, garbage first", &garbage, &valid),
        ("two headers, valid first", &valid, &garbage),
    ] {
        let r = send(
            what,
            get(&c, &server, "/api/me")
                .header(COOKIE, first.as_str())
                .header(COOKIE, second.as_str()),
        )
        .await;
        r.expect_me("ann", 0);
        r.expect_no_set_cookie();
    }

    server.stop().await;
}

/// 6. Key rotation across restarts: a token under an older key opens and is re-sealed under the
///    new primary on the next response (once); once the old key leaves the ring its tokens give a
///    fresh session while re-sealed ones still work.
pub async fn key_rotation_reseals_then_retires(start: &impl StartServer) {
    let clock = clock();
    let k1 = key_with_id(1);
    let k2 = key_with_id(2);
    let c = bare_client();

    // Server A: [k1].
    let ring_a = KeyRing::builder()
        .primary(k1.clone())
        .build()
        .expect("ring A");
    let a = start.start(ServerConfig::new(ring_a, &clock)).await;
    let mut token = token_for(&c, &a, "ann").await;
    for n in 1..=2u64 {
        let r = send(
            format!("A: counter #{n}"),
            with_cookie(get(&c, &a, "/api/counter"), &session_pair(&token)),
        )
        .await;
        r.expect_json(StatusCode::OK, &json!({ "count": n }));
        token = r.expect_issued();
    }
    let token_k1 = token;
    assert_eq!(key_id_of(&token_k1), 1, "A seals under k1");
    let a_url = a.base_url.clone();
    a.stop().await;

    // Server B: [k2 primary, k1 older], in the demo's SESSION_KEYS format.
    let list = format!(
        "2:{},1:{}",
        k2.to_base64().as_str(),
        k1.to_base64().as_str()
    );
    let ring_b = KeyRing::from_key_list(&list).expect("ring B");
    let b = start.start(ServerConfig::new(ring_b, &clock)).await;
    assert_ne!(b.base_url, a_url, "B listens on a new port");
    let r = send(
        "B: me with the k1 token",
        with_cookie(get(&c, &b, "/api/me"), &session_pair(&token_k1)),
    )
    .await;
    let id = r.expect_me("ann", 2);
    let token_k2 = r.expect_issued();
    assert_eq!(
        key_id_of(&token_k2),
        k2.id().get(),
        "the re-sealed token is under k2"
    );
    let r = send(
        "B: me with the re-sealed token",
        with_cookie(get(&c, &b, "/api/me"), &session_pair(&token_k2)),
    )
    .await;
    assert_eq!(r.expect_me("ann", 2), id, "re-sealing keeps the session id");
    r.expect_no_set_cookie();
    b.stop().await;

    // Server C: [k2] only.
    let ring_c = KeyRing::builder()
        .primary(k2.clone())
        .build()
        .expect("ring C");
    let srv_c = start.start(ServerConfig::new(ring_c, &clock)).await;
    let r = send(
        "C: me with the k1 token",
        with_cookie(get(&c, &srv_c, "/api/me"), &session_pair(&token_k1)),
    )
    .await;
    r.expect_fresh_me();
    r.expect_deletion();
    let r = send(
        "C: me with the k2 token",
        with_cookie(get(&c, &srv_c, "/api/me"), &session_pair(&token_k2)),
    )
    .await;
    assert_eq!(r.expect_me("ann", 2), id);
    r.expect_no_set_cookie();
    srv_c.stop().await;
}

/// 7a. The idle timeout (30 minutes in the demo): a session used within it lives on (re-sealed by
///     the rolling refresh), one left for 31 minutes is gone.
pub async fn idle_timeout_expires_session(start: &impl StartServer) {
    let clock = clock();
    let server = start.start(ServerConfig::new(ring(), &clock)).await;
    let b = browser();

    send("login", login(&b, &server, "ann").await)
        .await
        .expect_issued();
    clock.advance(Duration::from_secs(29 * 60));
    let r = send("me after 29 minutes", get(&b, &server, "/api/me")).await;
    r.expect_me("ann", 0);
    // Past the refresh point (a quarter of the idle window): re-sealed, read-only or not.
    r.expect_issued();

    clock.advance(IDLE_TIMEOUT + Duration::from_secs(60));
    let r = send("me after 31 idle minutes", get(&b, &server, "/api/me")).await;
    r.expect_fresh_me();
    r.expect_deletion();

    let r = send("me after the deletion", get(&b, &server, "/api/me")).await;
    r.expect_fresh_me();
    r.expect_no_set_cookie();

    server.stop().await;
}

/// 7b. Requests every 20 minutes keep a session alive past its 30-minute idle timeout (rolling
///     refresh), until its absolute lifetime (1 hour here) ends it.
pub async fn rolling_refresh_until_absolute_lifetime(start: &impl StartServer) {
    let clock = clock();
    let config = ServerConfig::new(ring(), &clock).with_lifetime(Duration::from_secs(3600));
    let server = start.start(config).await;
    let b = browser();

    send("login", login(&b, &server, "ann").await)
        .await
        .expect_issued();
    let id = send("me at 0", get(&b, &server, "/api/me"))
        .await
        .expect_me("ann", 0);
    for minutes in [20, 40] {
        clock.advance(Duration::from_secs(20 * 60));
        let r = send(format!("me at {minutes} min"), get(&b, &server, "/api/me")).await;
        assert_eq!(r.expect_me("ann", 0), id, "{}: same session", r.what);
        r.expect_issued();
    }
    clock.advance(Duration::from_secs(20 * 60));
    let r = send(
        "me at 60 min (absolute lifetime)",
        get(&b, &server, "/api/me"),
    )
    .await;
    r.expect_fresh_me();
    r.expect_deletion();

    server.stop().await;
}

/// 8. A handler that checks `ensure_fits` refuses to grow the session past its cookie with a
///    `413`, and the session is intact afterwards.
pub async fn oversized_session_is_refused_and_kept(start: &impl StartServer) {
    let clock = clock();
    let server = start.start(ServerConfig::new(ring(), &clock)).await;
    let b = browser();

    send("login", login(&b, &server, "ann").await)
        .await
        .expect_issued();
    let r = send("big 100", get(&b, &server, "/api/big?bytes=100")).await;
    r.expect_json(StatusCode::OK, &json!({ "bytes": 100 }));
    r.expect_issued();

    let r = send("big 5000", get(&b, &server, "/api/big?bytes=5000")).await;
    r.expect_json(
        StatusCode::PAYLOAD_TOO_LARGE,
        &json!({ "error": "session_too_large" }),
    );
    // Whatever the response says about the cookie, it never deletes or breaks the session.
    for raw in &r.set_cookies {
        let c = Cookie::parse(raw.as_str()).expect("a Set-Cookie");
        assert_eq!(c.name(), COOKIE_NAME, "{raw}");
        assert!(!c.value().is_empty(), "big 5000 deleted the session: {raw}");
    }

    let r = send("me after the refusal", get(&b, &server, "/api/me")).await;
    r.expect_me("ann", 0);
    let r = send(
        "counter after the refusal",
        get(&b, &server, "/api/counter"),
    )
    .await;
    r.expect_json(StatusCode::OK, &json!({ "count": 1 }));

    server.stop().await;
}

/// 10a. 100 concurrent first requests from 100 clients: each gets `{"count":1}` and its own
///      session.
pub async fn concurrent_first_requests_get_distinct_sessions(start: &impl StartServer) {
    const CLIENTS: usize = 100;
    let clock = clock();
    let server = start.start(ServerConfig::new(ring(), &clock)).await;
    let base = Arc::new(server.base_url.clone());
    let barrier = Arc::new(tokio::sync::Barrier::new(CLIENTS));

    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..CLIENTS {
        let (base, barrier) = (Arc::clone(&base), Arc::clone(&barrier));
        tasks.spawn(async move {
            let b = browser();
            barrier.wait().await;
            let r = send(
                format!("client {i}: counter"),
                b.get(format!("{base}/api/counter")),
            )
            .await;
            r.expect_json(StatusCode::OK, &json!({ "count": 1 }));
            let token = r.expect_issued();
            let r = send(format!("client {i}: me"), b.get(format!("{base}/api/me"))).await;
            let id = r.expect_me_anonymous(1);
            r.expect_no_set_cookie();
            (token, id)
        });
    }
    let mut tokens = HashSet::new();
    let mut ids = HashSet::new();
    while let Some(joined) = tasks.join_next().await {
        let (token, id) = joined.expect("a client task");
        tokens.insert(token);
        ids.insert(id);
    }
    assert_eq!(tokens.len(), CLIENTS, "distinct session cookies");
    assert_eq!(ids.len(), CLIENTS, "distinct session ids");

    server.stop().await;
}

/// 10b. 20 concurrent increments on ONE session: all succeed. Cookie sessions are
///      last-writer-wins: each request reads the cookie the client held when it was sent and its
///      response overwrites the cookie, so concurrent increments can be lost; the final count is
///      anywhere from 1 (all read 0) to 20 (fully serialized), never an error or a broken session.
pub async fn concurrent_increments_on_one_session(start: &impl StartServer) {
    const REQUESTS: u64 = 20;
    let clock = clock();
    let server = start.start(ServerConfig::new(ring(), &clock)).await;
    let b = browser();
    send("login", login(&b, &server, "ann").await)
        .await
        .expect_issued();
    let id = send("me", get(&b, &server, "/api/me"))
        .await
        .expect_me("ann", 0);

    let url = Arc::new(server.url("/api/counter"));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..REQUESTS {
        let (b, url) = (b.clone(), Arc::clone(&url));
        tasks.spawn(async move {
            let r = send(format!("increment {i}"), b.get(url.as_str())).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.what);
            let n = r.json()["count"].as_u64().expect("a count");
            assert!((1..=REQUESTS).contains(&n), "{}: count {n}", r.what);
            r.expect_issued();
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined.expect("an increment task");
    }

    let r = send("me after the increments", get(&b, &server, "/api/me")).await;
    assert_eq!(r.status, StatusCode::OK);
    let count = r.json()["count"].as_u64().expect("a count");
    assert!((1..=REQUESTS).contains(&count), "final count {count}");
    assert_eq!(r.expect_me("ann", count), id, "still the same session");

    server.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Security checklist rows at the HTTP edge (`SECURITY-CHECKLIST.md`; core-level versions of the
// same rows are in tests/checklist.rs)
// ---------------------------------------------------------------------------------------------

/// Assert every `Set-Cookie` of a response is complete (it parses, with our name) and at most
/// 4096 bytes.
fn assert_cookies_within_budget(r: &Reply) {
    for raw in &r.set_cookies {
        assert!(
            raw.len() <= sealed_session::MAX_SET_COOKIE_LEN,
            "{}: a {}-byte Set-Cookie",
            r.what,
            raw.len()
        );
        let c = Cookie::parse(raw.as_str())
            .unwrap_or_else(|e| panic!("{}: unparsable Set-Cookie {raw:?}: {e}", r.what));
        assert_eq!(c.name(), COOKIE_NAME, "{}: {raw}", r.what);
    }
}

/// Checklist row 1: no cookie, no session and no `Set-Cookie`, unless the handler writes.
pub async fn checklist_01_no_cookie_no_set_cookie(start: &impl StartServer) {
    let clock = clock();
    let server = start.start(ServerConfig::new(ring(), &clock)).await;
    let c = bare_client();

    for (what, cookie) in [
        ("no Cookie header", None),
        ("foreign cookies only", Some("a=1; b=2")),
    ] {
        let mut request = get(&c, &server, "/api/me");
        if let Some(cookie) = cookie {
            request = with_cookie(request, cookie);
        }
        let r = send(format!("{what}: /api/me"), request).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.what);
        r.expect_no_set_cookie();
        // The page writes: its forms carry a CSRF token, which needs a session to bind to.
        for path in ["/", "/api/csrf"] {
            let mut request = get(&c, &server, path);
            if let Some(cookie) = cookie {
                request = with_cookie(request, cookie);
            }
            let r = send(format!("{what}: {path} (issues a CSRF token)"), request).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.what);
            r.expect_issued();
        }
        let mut request = get(&c, &server, "/api/counter");
        if let Some(cookie) = cookie {
            request = with_cookie(request, cookie);
        }
        let r = send(format!("{what}: counter (writes)"), request).await;
        r.expect_json(StatusCode::OK, &json!({ "count": 1 }));
        r.expect_issued();
    }

    server.stop().await;
}

/// Checklist row 28: with two or more cookies of our name, the valid one is used whatever the
/// attacker's cookie (garbage, tampered, empty, over-long, or a valid token of another
/// deployment) and whatever the order, in one `Cookie` header or two.
pub async fn checklist_28_duplicate_names_valid_cookie_wins(start: &impl StartServer) {
    let clock = clock();
    let server = start.start(ServerConfig::new(ring(), &clock)).await;
    let elsewhere = start.start(ServerConfig::new(ring(), &clock)).await;
    let c = bare_client();
    let victim = token_for(&c, &server, "ann").await;
    let foreign = token_for(&c, &elsewhere, "mallory").await;
    elsewhere.stop().await;

    let mut tampered = victim.clone().into_bytes();
    let last = tampered.len() - 1;
    tampered[last - 3] = if tampered[last - 3] == b'A' {
        b'B'
    } else {
        b'A'
    };
    let tampered = String::from_utf8(tampered).expect("ASCII");
    let valid = session_pair(&victim);
    for (kind, attacker) in [
        ("garbage", session_pair("garbage")),
        ("tampered", session_pair(&tampered)),
        ("empty", session_pair("")),
        ("over-long", session_pair(&"A".repeat(5000))),
        ("another deployment's valid token", session_pair(&foreign)),
    ] {
        for (order, header) in [
            ("attacker first", format!("{attacker}; {valid}")),
            ("victim first", format!("{valid}; {attacker}")),
        ] {
            let what = format!("{kind}, {order}");
            let r = send(what, with_cookie(get(&c, &server, "/api/me"), &header)).await;
            r.expect_me("ann", 0);
            r.expect_no_set_cookie();
        }
        for (order, first, second) in [
            ("two headers, attacker first", &attacker, &valid),
            ("two headers, victim first", &valid, &attacker),
        ] {
            let r = send(
                format!("{kind}, {order}"),
                get(&c, &server, "/api/me")
                    .header(COOKIE, first.as_str())
                    .header(COOKIE, second.as_str()),
            )
            .await;
            r.expect_me("ann", 0);
            r.expect_no_set_cookie();
        }
    }

    server.stop().await;
}

/// Checklist row 29: unrelated malformed pairs around ours (`null;`, pairs without `=`, empty
/// names, junk names, non-UTF-8 bytes) never hide our cookie.
pub async fn checklist_29_malformed_neighbours_keep_our_cookie(start: &impl StartServer) {
    let clock = clock();
    let server = start.start(ServerConfig::new(ring(), &clock)).await;
    let c = bare_client();
    let token = token_for(&c, &server, "ann").await;
    let ours = session_pair(&token);
    let junk: &[u8] = b"null; =; =x; ;;; a; b=c=d; \"q\"=1; session; sessionx=1; $Version=1; \
                        x=\"unterminated; \xff\xfe=\x80";

    for (what, header) in [
        ("before", [junk, b"; ", ours.as_bytes()].concat()),
        ("after", [ours.as_bytes(), b"; ", junk].concat()),
        (
            "around",
            [junk, b"; ", ours.as_bytes(), b"; ", junk].concat(),
        ),
    ] {
        let value = reqwest::header::HeaderValue::from_bytes(&header).expect("a header value");
        let r = send(what, get(&c, &server, "/api/me").header(COOKIE, value)).await;
        r.expect_me("ann", 0);
        r.expect_no_set_cookie();
    }
    let junk_header = reqwest::header::HeaderValue::from_bytes(junk).expect("a header value");
    let r = send(
        "junk in a header of its own",
        get(&c, &server, "/api/me")
            .header(COOKIE, junk_header)
            .header(COOKIE, ours.as_str()),
    )
    .await;
    r.expect_me("ann", 0);
    r.expect_no_set_cookie();

    server.stop().await;
}

/// Checklist row 30: a header of a thousand tiny cookies costs bounded work and still finds
/// ours; of many cookies with our name, only the first `MAX_CANDIDATES` are ever opened.
pub async fn checklist_30_thousands_of_tiny_cookies(start: &impl StartServer) {
    let clock = clock();
    let server = start.start(ServerConfig::new(ring(), &clock)).await;
    let c = bare_client();
    let token = token_for(&c, &server, "ann").await;

    let tiny: String = (0..1000).map(|i| format!("c{i}=v; ")).collect();
    let header = format!("{tiny}{}", session_pair(&token));
    let started = std::time::Instant::now();
    let r = send(
        "1000 tiny cookies",
        with_cookie(get(&c, &server, "/api/me"), &header),
    )
    .await;
    r.expect_me("ann", 0);
    r.expect_no_set_cookie();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );

    let garbage = |n: usize| vec![session_pair("garbage"); n].join("; ");
    let bound = sealed_session::MAX_CANDIDATES;
    let header = format!("{}; {}", garbage(bound - 1), session_pair(&token));
    let r = send(
        "our cookie at the bound",
        with_cookie(get(&c, &server, "/api/me"), &header),
    )
    .await;
    r.expect_me("ann", 0);
    let header = format!("{}; {}", garbage(bound), session_pair(&token));
    let r = send(
        "our cookie past the bound",
        with_cookie(get(&c, &server, "/api/me"), &header),
    )
    .await;
    r.expect_fresh_me();
    r.expect_deletion();

    server.stop().await;
}

/// Checklist row 31: only our exact cookie name is read: our valid token under another name
/// leaves the session fresh, and is never opened (a refused cookie would be deleted).
pub async fn checklist_31_only_our_exact_name_is_read(start: &impl StartServer) {
    let clock = clock();
    let server = start.start(ServerConfig::new(ring(), &clock)).await;
    let c = bare_client();
    let token = token_for(&c, &server, "ann").await;

    for name in [
        "Session",
        "SESSION",
        "sessionx",
        "xsession",
        "session.1",
        "__Host-session",
    ] {
        for value in [token.as_str(), "garbage"] {
            let header = format!("{name}={value}");
            let r = send(
                format!("{name}=…"),
                with_cookie(get(&c, &server, "/api/me"), &header),
            )
            .await;
            r.expect_fresh_me();
            r.expect_no_set_cookie();
        }
    }

    server.stop().await;
}

/// Checklist row 32: 100 concurrent first requests, each logging in a different user, get
/// independent sessions: each client reads back its own user under its own id.
pub async fn checklist_32_concurrent_first_requests_are_independent(start: &impl StartServer) {
    const CLIENTS: usize = 100;
    let clock = clock();
    let server = start.start(ServerConfig::new(ring(), &clock)).await;
    let base = Arc::new(server.base_url.clone());
    let barrier = Arc::new(tokio::sync::Barrier::new(CLIENTS));

    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..CLIENTS {
        let (base, barrier) = (Arc::clone(&base), Arc::clone(&barrier));
        tasks.spawn(async move {
            let b = browser();
            let user = format!("user-{i}");
            barrier.wait().await;
            let r = send(
                format!("client {i}: csrf"),
                b.get(format!("{base}/api/csrf")),
            )
            .await;
            let token = r.json()["csrf_token"].as_str().unwrap().to_owned();
            let r = send(
                format!("client {i}: login"),
                b.post(format!("{base}/api/login"))
                    .header(CSRF_HEADER, token)
                    .json(&json!({ "user": user })),
            )
            .await;
            r.expect_json(StatusCode::OK, &json!({ "user": user }));
            r.expect_issued();
            let r = send(format!("client {i}: me"), b.get(format!("{base}/api/me"))).await;
            r.expect_me(&user, 0)
        });
    }
    let mut ids = HashSet::new();
    while let Some(joined) = tasks.join_next().await {
        ids.insert(joined.expect("a client task"));
    }
    assert_eq!(ids.len(), CLIENTS, "distinct session ids");

    server.stop().await;
}

/// Checklist row 33: the logout deletion cookie repeats the issued cookie's Path, Domain,
/// Secure, SameSite, Partitioned and HttpOnly, with `Max-Age=0` and an `Expires` in the past.
pub async fn checklist_33_logout_deletion_mirrors_issued_cookie(start: &impl StartServer) {
    let clock = clock();
    let server = start.start(ServerConfig::new(ring(), &clock)).await;
    let b = browser();

    let r = send("login", login(&b, &server, "ann").await).await;
    r.expect_issued();
    let issued = Cookie::parse(r.set_cookies[0].clone()).expect("a Set-Cookie");
    let r = send("logout", logout(&b, &server).await).await;
    r.expect_deletion();
    let deleted = Cookie::parse(r.set_cookies[0].clone()).expect("a Set-Cookie");
    let attributes = |c: &Cookie<'_>| {
        (
            c.name().to_owned(),
            c.path().map(str::to_owned),
            c.domain().map(str::to_owned),
            c.secure().unwrap_or(false),
            c.http_only().unwrap_or(false),
            c.same_site(),
            c.partitioned().unwrap_or(false),
        )
    };
    assert_eq!(
        attributes(&deleted),
        attributes(&issued),
        "{}",
        r.set_cookies[0]
    );
    assert_eq!(deleted.max_age(), Some(cookie::time::Duration::ZERO));
    match deleted.expires() {
        Some(Expiration::DateTime(t)) => assert!(t < cookie::time::OffsetDateTime::now_utc()),
        other => panic!("Expires {other:?}"),
    }

    server.stop().await;
}

/// The largest `/api/big?bytes=N` the session still holds (found by bisection), asserting on
/// the way that every response's `Set-Cookie`s are complete and within 4096 bytes, and that a
/// refusal is the application's `413`. Leaves the session holding N bytes.
async fn largest_big(b: &Client, server: &RunningServer) -> usize {
    let big = |n: usize| get(b, server, &format!("/api/big?bytes={n}"));
    let (mut lo, mut hi) = (0usize, 4096usize);
    let r = send("big 4096", big(hi)).await;
    r.expect_json(
        StatusCode::PAYLOAD_TOO_LARGE,
        &json!({ "error": "session_too_large" }),
    );
    assert_cookies_within_budget(&r);
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        let r = send(format!("big {mid}"), big(mid)).await;
        assert_cookies_within_budget(&r);
        if r.status == StatusCode::OK {
            r.expect_json(StatusCode::OK, &json!({ "bytes": mid }));
            lo = mid;
        } else {
            r.expect_json(
                StatusCode::PAYLOAD_TOO_LARGE,
                &json!({ "error": "session_too_large" }),
            );
            hi = mid;
        }
    }
    // Shrink first, so that storing N again is a change and issues a cookie to measure.
    send("big 0", big(0))
        .await
        .expect_json(StatusCode::OK, &json!({ "bytes": 0 }));
    let r = send(format!("big {lo} again"), big(lo)).await;
    r.expect_json(StatusCode::OK, &json!({ "bytes": lo }));
    assert_cookies_within_budget(&r);
    let largest = r.set_cookies.iter().map(String::len).max().unwrap_or(0);
    assert!(
        largest > sealed_session::MAX_SET_COOKIE_LEN - 4,
        "the largest session's cookie is {largest} bytes"
    );
    lo
}

/// Checklist row 34: a session that would need a `Set-Cookie` over 4096 bytes is a typed error
/// the application sees (`ensure_fits`, answered `413` by the demo); no response ever carries a
/// truncated or over-long `Set-Cookie`.
pub async fn checklist_34_oversized_session_is_a_typed_error(start: &impl StartServer) {
    let clock = clock();
    let server = start.start(ServerConfig::new(ring(), &clock)).await;
    let b = browser();
    send("login", login(&b, &server, "ann").await)
        .await
        .expect_issued();

    let n = largest_big(&b, &server).await;
    let r = send(
        format!("big {}", n + 1),
        get(&b, &server, &format!("/api/big?bytes={}", n + 1)),
    )
    .await;
    r.expect_json(
        StatusCode::PAYLOAD_TOO_LARGE,
        &json!({ "error": "session_too_large" }),
    );
    assert_cookies_within_budget(&r);
    let r = send("me after the refusal", get(&b, &server, "/api/me")).await;
    r.expect_me("ann", 0);

    server.stop().await;
}

/// Checklist row 36: an error the crate causes is opaque: a session that fits exactly, grown by
/// a handler that does not check `ensure_fits` (the counter), makes the adapter answer `500`
/// with an empty body and no `Set-Cookie`, and the client's session is intact (the same session
/// id as before). Hostile cookies cause no error response at all.
pub async fn checklist_36_crate_errors_are_opaque(start: &impl StartServer) {
    let clock = clock();
    let server = start.start(ServerConfig::new(ring(), &clock)).await;
    let b = browser();

    largest_big(&b, &server).await;
    let before = send("me on the full session", get(&b, &server, "/api/me"))
        .await
        .expect_me_anonymous(0);
    let r = send_raw(
        "counter on a full session",
        get(&b, &server, "/api/counter"),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "{}: {}",
        r.what,
        r.text()
    );
    assert!(r.body.is_empty(), "{}: body {:?}", r.what, r.text());
    r.expect_no_set_cookie();
    let r = send("me after the 500", get(&b, &server, "/api/me")).await;
    let after = r.expect_me_anonymous(0);
    assert_eq!(after, before, "{}: the session held before the 500", r.what);
    r.expect_no_set_cookie();

    let c = bare_client();
    for (what, value) in [
        ("garbage", b"session=!!!".to_vec()),
        (
            "over-long",
            format!("session={}", "A".repeat(6000)).into_bytes(),
        ),
        ("non-UTF-8", b"session=\xff\xfe\xfd".to_vec()),
    ] {
        let value = reqwest::header::HeaderValue::from_bytes(&value).expect("a header value");
        let r = send(what, get(&c, &server, "/api/me").header(COOKIE, value)).await;
        r.expect_fresh_me();
        r.expect_deletion();
    }

    server.stop().await;
}

// ---------------------------------------------------------------------------------------------
// The request protocol's seams (issue 13)
// ---------------------------------------------------------------------------------------------

fn header(r: &Reply, name: &str) -> String {
    r.headers
        .get_all(name)
        .iter()
        .map(|v| v.to_str().unwrap_or_default().to_owned())
        .collect::<Vec<_>>()
        .join(", ")
}

fn varies_on_cookie(r: &Reply) -> bool {
    header(r, "vary")
        .split(',')
        .any(|f| f.trim().eq_ignore_ascii_case("cookie"))
}

fn directives(r: &Reply) -> Vec<String> {
    header(r, "cache-control")
        .split(',')
        .map(|d| d.trim().to_ascii_lowercase())
        .filter(|d| !d.is_empty())
        .collect()
}

/// A login answer sets the cookie: no shared cache may store it, and it varies on Cookie; a
/// read-only answer computed from the session varies on Cookie too.
pub async fn login_response_is_private_and_varies_on_cookie(start: &impl StartServer) {
    let clock = clock();
    let server = start.start(ServerConfig::new(ring(), &clock)).await;
    let c = bare_client();
    let r = send("login", login_as(&c, &server, "ann", None).await).await;
    let token = r.expect_issued();
    let cc = directives(&r);
    assert!(
        cc.iter().any(|d| d == "private" || d == "no-store"),
        "login: Cache-Control {cc:?}"
    );
    assert!(varies_on_cookie(&r), "login: Vary {:?}", header(&r, "vary"));
    let r = send(
        "me",
        with_cookie(get(&c, &server, "/api/me"), &session_pair(&token)),
    )
    .await;
    r.expect_me("ann", 0);
    r.expect_no_set_cookie();
    assert!(varies_on_cookie(&r), "me: Vary {:?}", header(&r, "vary"));
    let r = send(
        "logout",
        logout_as(&c, &server, &session_pair(&token)).await,
    )
    .await;
    r.expect_deletion();
    assert!(directives(&r)
        .iter()
        .any(|d| d == "private" || d == "no-store"));
    server.stop().await;
}

/// A handler that marks its answer `public` while a rolling refresh is due: the refresh waits
/// for a private answer. One that must set the cookie (a key rotation) answers
/// `private, no-store` instead of `public`.
pub async fn public_response_defers_refresh_and_never_stores_a_cookie(start: &impl StartServer) {
    let clock = clock();
    let k1 = key_with_id(1);
    let ring_a = KeyRing::builder()
        .primary(k1.clone())
        .build()
        .expect("ring");
    let a = start.start(ServerConfig::new(ring_a, &clock)).await;
    let c = bare_client();
    let token = token_for(&c, &a, "ann").await;
    // Past the refresh point (a quarter of the 30-minute idle window), within the timeout.
    clock.advance(Duration::from_secs(8 * 60));
    let r = send(
        "greeting (public) with a refresh due",
        with_cookie(get(&c, &a, "/api/greeting"), &session_pair(&token)),
    )
    .await;
    r.expect_json(StatusCode::OK, &json!({ "greeting": "Hello, ann" }));
    r.expect_no_set_cookie();
    assert!(
        directives(&r).iter().any(|d| d == "public"),
        "{:?}",
        directives(&r)
    );
    assert!(varies_on_cookie(&r));
    let r = send(
        "me (private) refreshes",
        with_cookie(get(&c, &a, "/api/me"), &session_pair(&token)),
    )
    .await;
    r.expect_me("ann", 0);
    r.expect_issued();
    assert!(
        directives(&r).iter().any(|d| d == "private"),
        "{:?}",
        directives(&r)
    );
    a.stop().await;

    // A new primary key: the re-seal must go out, so the public answer becomes private.
    let k2 = key_with_id(2);
    let ring_b = KeyRing::builder()
        .primary(k2)
        .older(k1)
        .build()
        .expect("ring");
    let b = start.start(ServerConfig::new(ring_b, &clock)).await;
    let r = send(
        "greeting (public) with a key rotation",
        with_cookie(get(&c, &b, "/api/greeting"), &session_pair(&token)),
    )
    .await;
    let resealed = r.expect_issued();
    assert_eq!(key_id_of(&resealed), 2);
    assert_eq!(directives(&r), ["private", "no-store"]);
    b.stop().await;
}

/// A cookie `session.k` planted before or after the real ones, for every k up to the chunk
/// limit, neither breaks a chunked session nor gets its chunks deleted.
pub async fn planted_chunks_never_break_or_delete_a_session(start: &impl StartServer) {
    const CHUNKS: usize = 4;
    let clock = clock();
    let server = start
        .start(ServerConfig::new(ring(), &clock).with_chunking(CHUNKS))
        .await;
    let c = bare_client();
    let token = token_for(&c, &server, "ann").await;
    let r = send(
        "big: two chunks",
        with_cookie(
            get(&c, &server, "/api/big?bytes=5000"),
            &session_pair(&token),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let real: Vec<String> = r
        .set_cookies
        .iter()
        .map(|v| v.split(';').next().unwrap_or_default().to_owned())
        .collect();
    let real_names: Vec<String> = real
        .iter()
        .map(|p| p.split('=').next().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(real_names, ["session", "session.1"], "{:?}", r.set_cookies);
    for k in 1..CHUNKS {
        for before in [true, false] {
            let planted = format!("session.{k}=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
            let header = if before {
                format!("{planted}; {}", real.join("; "))
            } else {
                format!("{}; {planted}", real.join("; "))
            };
            let what = format!(
                "me with session.{k} planted {}",
                if before { "before" } else { "after" }
            );
            let r = send(
                what.clone(),
                with_cookie(get(&c, &server, "/api/me"), &header),
            )
            .await;
            assert_eq!(r.status, StatusCode::OK, "{what}");
            assert_eq!(r.json()["user"], json!("ann"), "{what}: the session opens");
            for set in &r.set_cookies {
                let name = set.split('=').next().unwrap_or_default();
                assert!(
                    !real_names.iter().any(|n| n == name),
                    "{what}: a chunk of the real session was touched: {set}"
                );
            }
        }
    }
    server.stop().await;
}

/// Two nodes whose clocks are 59 s apart (the leeway is 60 s) take turns opening and
/// re-sealing one session, starting on the fast node: no rejection in 100 turns.
pub async fn clocks_59_seconds_apart_alternate_without_rejection(start: &impl StartServer) {
    let ring = ring();
    let slow = clock();
    let fast = Arc::new(ManualClock::new(UnixTime::from_secs(T0.as_secs() + 59)));
    let a = start.start(ServerConfig::new(ring.clone(), &slow)).await;
    let b = start.start(ServerConfig::new(ring, &fast)).await;
    let c = bare_client();
    let mut token = token_for(&c, &b, "ann").await;
    for n in 1..=100u64 {
        let server = if n % 2 == 1 { &a } else { &b };
        let r = send(
            format!("counter #{n}"),
            with_cookie(get(&c, server, "/api/counter"), &session_pair(&token)),
        )
        .await;
        r.expect_json(StatusCode::OK, &json!({ "count": n }));
        token = r.expect_issued();
        slow.advance(Duration::from_secs(1));
        fast.advance(Duration::from_secs(1));
    }
    a.stop().await;
    b.stop().await;
}

/// With a revocation store: a copy of the cookie taken before login (renew) is refused after
/// the logout that follows, on another node too.
pub async fn logout_ends_copies_taken_before_login(start: &impl StartServer) {
    let clock = clock();
    let ring = ring();
    let store = Arc::new(MemoryRevocations::new().with_clock(clock.clone()));
    let revocation = Revocation::from_arc(store);
    let a = start
        .start(ServerConfig::new(ring.clone(), &clock).with_revocation(revocation.clone()))
        .await;
    let b = start
        .start(ServerConfig::new(ring, &clock).with_revocation(revocation))
        .await;
    let c = bare_client();
    let r = send("anonymous counter", get(&c, &a, "/api/counter")).await;
    let before_login = r.expect_issued();
    let r = send(
        "login",
        login_as(&c, &a, "ann", Some(&session_pair(&before_login))).await,
    )
    .await;
    let logged_in = r.expect_issued();
    let r = send("logout", logout_as(&c, &a, &session_pair(&logged_in)).await).await;
    r.expect_deletion();
    for (server, token, what) in [
        (&a, &before_login, "copy before login, on A"),
        (&b, &before_login, "copy before login, on B"),
        (&b, &logged_in, "logged-in copy, on B"),
    ] {
        let r = send(
            what,
            with_cookie(get(&c, server, "/api/me"), &session_pair(token)),
        )
        .await;
        r.expect_fresh_me();
        r.expect_deletion();
    }
    a.stop().await;
    b.stop().await;
}

// ---------------------------------------------------------------------------------------------
// CSRF tokens and flash messages (issue 18)
// ---------------------------------------------------------------------------------------------

/// A `403` with an empty body and no `Set-Cookie`.
fn expect_refused(r: &Reply) {
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}: {}", r.what, r.text());
    assert!(
        r.body.is_empty(),
        "{}: opaque body, got {:?}",
        r.what,
        r.text()
    );
    r.expect_no_set_cookie();
}

/// `/api/me` as JSON.
async fn me_of(client: &Client, server: &RunningServer, cookie: Option<&str>) -> Value {
    let mut request = get(client, server, "/api/me");
    if let Some(cookie) = cookie {
        request = with_cookie(request, cookie);
    }
    let r = send("me", request).await;
    r.expect_no_set_cookie();
    r.json()
}

/// Login and logout without a token (no header, no form field, an empty header) answer `403`
/// with no `Set-Cookie`, and the session stays as it was.
pub async fn csrf_missing_token_is_refused_without_change(start: &impl StartServer) {
    let clock = clock();
    let server = start.start(ServerConfig::new(ring(), &clock)).await;
    let b = browser();
    send("login", login(&b, &server, "ann").await)
        .await
        .expect_json(StatusCode::OK, &json!({ "user": "ann" }));
    let before = me_of(&b, &server, None).await;
    assert_eq!(before["user"], "ann");

    let attempts = [
        (
            "JSON login, no token",
            b.post(server.url("/api/login"))
                .json(&json!({ "user": "mallory" })),
        ),
        (
            "JSON login, empty token",
            b.post(server.url("/api/login"))
                .header(CSRF_HEADER, "")
                .json(&json!({ "user": "mallory" })),
        ),
        (
            "form login, no field",
            b.post(server.url("/api/login"))
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(ACCEPT, "text/html")
                .body("user=mallory"),
        ),
        (
            "form login, garbage field",
            b.post(server.url("/api/login"))
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body("user=mallory&csrf_token=AAAA"),
        ),
        ("logout, no token", b.post(server.url("/api/logout"))),
        (
            "logout, form without field",
            b.post(server.url("/api/logout"))
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(""),
        ),
    ];
    for (what, request) in attempts {
        expect_refused(&send(what, request).await);
        assert_eq!(
            me_of(&b, &server, None).await,
            before,
            "{what}: session unchanged"
        );
    }
    server.stop().await;
}

/// A valid token of another session is refused (`403`, no `Set-Cookie`, no change), for login
/// and logout.
pub async fn csrf_other_sessions_token_is_refused(start: &impl StartServer) {
    let clock = clock();
    let server = start.start(ServerConfig::new(ring(), &clock)).await;
    let (victim, attacker) = (browser(), browser());
    send("victim login", login(&victim, &server, "ann").await)
        .await
        .expect_json(StatusCode::OK, &json!({ "user": "ann" }));
    let before = me_of(&victim, &server, None).await;
    let (foreign, _) = fetch_csrf(&attacker, &server, None).await;
    let r = send(
        "login with another session's token",
        victim
            .post(server.url("/api/login"))
            .header(CSRF_HEADER, &foreign)
            .json(&json!({ "user": "mallory" })),
    )
    .await;
    expect_refused(&r);
    let r = send(
        "logout with another session's token (form field)",
        victim
            .post(server.url("/api/logout"))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(format!("csrf_token={foreign}")),
    )
    .await;
    expect_refused(&r);
    assert_eq!(me_of(&victim, &server, None).await, before);
    // A token from another deployment (another key ring) opens nowhere here.
    let elsewhere = start.start(ServerConfig::new(ring(), &clock)).await;
    let other = browser();
    let (alien, _) = fetch_csrf(&other, &elsewhere, None).await;
    let r = send(
        "logout with another deployment's token",
        victim
            .post(server.url("/api/logout"))
            .header(CSRF_HEADER, alien),
    )
    .await;
    expect_refused(&r);
    assert_eq!(me_of(&victim, &server, None).await, before);
    elsewhere.stop().await;
    server.stop().await;
}

/// The token fetched before login still works after it (login renews the id, not the lineage),
/// and the page renders that same session's token in its forms.
pub async fn csrf_token_survives_login_renew(start: &impl StartServer) {
    let clock = clock();
    let server = start.start(ServerConfig::new(ring(), &clock)).await;
    let b = browser();
    let (token, issued) = fetch_csrf(&b, &server, None).await;
    assert!(issued.is_some(), "the first token starts a session");
    let anonymous = me_of(&b, &server, None).await["session_id"].clone();
    let r = send(
        "login",
        b.post(server.url("/api/login"))
            .header(CSRF_HEADER, &token)
            .json(&json!({ "user": "ann" })),
    )
    .await;
    r.expect_json(StatusCode::OK, &json!({ "user": "ann" }));
    r.expect_issued();
    let me = me_of(&b, &server, None).await;
    assert_ne!(me["session_id"], anonymous, "login renewed the id");
    // The page's hidden field verifies too.
    let page = send("index", get(&b, &server, "/")).await.text();
    let field = page
        .split("name=\"csrf_token\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a csrf_token field")
        .to_owned();
    let r = send(
        "logout with the pre-login token",
        b.post(server.url("/api/logout"))
            .header(CSRF_HEADER, &token),
    )
    .await;
    r.expect_json(StatusCode::OK, &json!({ "user": null }));
    r.expect_deletion();
    assert!(!field.is_empty());
    server.stop().await;
}

/// After logout the old token is refused: without a session, and for the session that follows.
pub async fn csrf_token_refused_after_logout(start: &impl StartServer) {
    let clock = clock();
    let server = start.start(ServerConfig::new(ring(), &clock)).await;
    let b = browser();
    let (token, _) = fetch_csrf(&b, &server, None).await;
    send(
        "login",
        b.post(server.url("/api/login"))
            .header(CSRF_HEADER, &token)
            .json(&json!({ "user": "ann" })),
    )
    .await
    .expect_json(StatusCode::OK, &json!({ "user": "ann" }));
    send(
        "logout",
        b.post(server.url("/api/logout"))
            .header(CSRF_HEADER, &token),
    )
    .await
    .expect_json(StatusCode::OK, &json!({ "user": null }));
    let login_again = || {
        b.post(server.url("/api/login"))
            .header(CSRF_HEADER, &token)
            .json(&json!({ "user": "ann" }))
    };
    expect_refused(&send("old token, no session", login_again()).await);
    let (fresh, _) = fetch_csrf(&b, &server, None).await;
    assert_ne!(fresh, token);
    expect_refused(&send("old token, the next session", login_again()).await);
    assert_eq!(me_of(&b, &server, None).await["user"], Value::Null);
    server.stop().await;
}

/// A session cookie's token is not a CSRF token, and a CSRF token is not a session cookie.
pub async fn csrf_session_token_and_csrf_token_never_swap(start: &impl StartServer) {
    let clock = clock();
    let server = start.start(ServerConfig::new(ring(), &clock)).await;
    let c = bare_client();
    let session = token_for(&c, &server, "ann").await;
    let pair = session_pair(&session);
    let r = send(
        "logout with the session token as CSRF token",
        with_cookie(
            c.post(server.url("/api/logout"))
                .header(CSRF_HEADER, &session),
            &pair,
        ),
    )
    .await;
    expect_refused(&r);
    assert_eq!(me_of(&c, &server, Some(&pair)).await["user"], "ann");
    let (csrf, _) = fetch_csrf(&c, &server, Some(&pair)).await;
    let r = send(
        "the CSRF token as a session cookie",
        with_cookie(get(&c, &server, "/api/me"), &session_pair(&csrf)),
    )
    .await;
    r.expect_fresh_me();
    r.expect_deletion();
    server.stop().await;
}

/// A form login redirects to `/`, which shows its flash message once; so does a form logout.
pub async fn flash_after_login_and_logout_shows_once(start: &impl StartServer) {
    let clock = clock();
    let server = start.start(ServerConfig::new(ring(), &clock)).await;
    let b = browser();
    let form_post = |path: &str, body: String| {
        b.post(server.url(path))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(ACCEPT, "text/html")
            .body(body)
    };
    let (token, _) = fetch_csrf(&b, &server, None).await;
    let r = send(
        "form login",
        form_post("/api/login", format!("user=bob&csrf_token={token}")),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.what);
    let page = send("index after login", get(&b, &server, "/")).await;
    assert!(
        page.text()
            .contains("id=\"flash-info\">Signed in as bob.</p>"),
        "{}",
        page.text()
    );
    page.expect_issued(); // the flash was taken: the session is written without it
    let again = send("index again", get(&b, &server, "/")).await;
    assert!(!again.text().contains("flash"), "{}", again.text());
    again.expect_no_set_cookie();
    assert_eq!(me_of(&b, &server, None).await["user"], "bob");

    let r = send(
        "form logout",
        form_post("/api/logout", format!("csrf_token={token}")),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.what);
    let page = send("index after logout", get(&b, &server, "/")).await;
    assert!(
        page.text().contains("id=\"flash-info\">Signed out.</p>"),
        "{}",
        page.text()
    );
    assert!(page.text().contains("Not signed in."), "{}", page.text());
    let again = send("index again", get(&b, &server, "/")).await;
    assert!(!again.text().contains("flash"), "{}", again.text());
    server.stop().await;
}

// ---------------------------------------------------------------------------------------------
// The adapters' own edges (the probe routes)
// ---------------------------------------------------------------------------------------------

/// The framework's `Session` extractor in an application without the session layer is a
/// server-side mistake: an opaque `500` with an empty body and no `Set-Cookie`, with or without a
/// cookie, never a detached session that silently loses what the handler stores. The same route
/// under the layer answers, so only the missing layer makes the `500`.
pub async fn extractor_without_layer_is_opaque_500(start: &impl StartServer) {
    let clock = clock();
    let c = bare_client();

    let server = start.start(ServerConfig::new(ring(), &clock)).await;
    let r = send("extractor under the layer", get(&c, &server, PROBE_EXTRACT)).await;
    assert_eq!(r.status, StatusCode::OK, "{}: {}", r.what, r.text());
    assert_eq!(r.text(), EXTRACTED, "{}", r.what);
    r.expect_no_set_cookie();
    server.stop().await;

    let server = start
        .start(ServerConfig::new(ring(), &clock).without_session_layer())
        .await;
    for cookie in [None, Some(session_pair("anything"))] {
        let mut request = get(&c, &server, PROBE_EXTRACT);
        if let Some(cookie) = &cookie {
            request = with_cookie(request, cookie);
        }
        let r = send_raw(format!("no layer, cookie {cookie:?}"), request).await;
        assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", r.what);
        assert!(r.body.is_empty(), "{}: body {:?}", r.what, r.text());
        r.expect_no_set_cookie();
    }
    server.stop().await;
}

/// Laziness: a route under the layer that never touches the session sends no `Set-Cookie`,
/// without a cookie and with a garbage one, which the layer does not even open (so never refuses,
/// so never deletes); a route reading the session refuses and deletes that same cookie.
pub async fn untouched_session_sends_no_cookie(start: &impl StartServer) {
    let clock = clock();
    let server = start.start(ServerConfig::new(ring(), &clock)).await;
    let c = bare_client();
    let garbage = session_pair("!!!garbage!!!");

    let r = send("untouched, no cookie", get(&c, &server, PROBE_UNTOUCHED)).await;
    assert_eq!(r.status, StatusCode::OK, "{}: {}", r.what, r.text());
    assert_eq!(r.text(), "ok loaded=true", "{}", r.what);
    r.expect_no_set_cookie();

    let r = send(
        "untouched, garbage cookie",
        with_cookie(get(&c, &server, PROBE_UNTOUCHED), &garbage),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}: {}", r.what, r.text());
    assert_eq!(r.text(), "ok loaded=false", "{}", r.what);
    r.expect_no_set_cookie();

    let r = send(
        "me, garbage cookie",
        with_cookie(get(&c, &server, "/api/me"), &garbage),
    )
    .await;
    r.expect_fresh_me();
    r.expect_deletion();

    server.stop().await;
}
