//! The server behind the HTTP benchmark in `benches/http/` (issue 4): one binary, four session
//! back-ends, the same routes and the same JSON bodies.
//!
//! ```text
//! cargo build --release -p sealed-session-http-bench --features axum --bin bench_server
//! target/release/bench_server <variant> <addr>
//! ```
//!
//! `<variant>` is one of
//! - `none`: no session at all; the handlers answer the JSON the session variants answer on the
//!   replayed benchmark cookie, from constants;
//! - `sealed`: this crate's [`SessionLayer`] in its default mode (AES-256-GCM-SIV);
//! - `private-jar`: axum-extra's `PrivateCookieJar` (AES-256-GCM over the JSON value, re-encrypted
//!   on every write);
//! - `tower-sessions`: `tower-sessions` with its in-process `MemoryStore` (only an id in the
//!   cookie, the data on the server).
//!
//! Routes, the same for every variant:
//! - `GET /counter`: increment a `u64` counter in the session, answer `{"count":N}`;
//! - `GET /me`: read the counter without writing, answer `{"count":N}`;
//! - `GET /seed?bytes=N`: store N bytes of extra data in the session (to set up the 1 KiB case),
//!   answer `{"count":N}` with the current counter;
//! - `GET /plain`: answer `{"count":0}` without touching the session, to measure what a layer costs
//!   on its own.
//!
//! The runtime is tokio's current-thread runtime: one worker, so that pinning the process to one
//! core (`taskset -c 0`) measures requests per second per core.

use std::net::SocketAddr;

use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use axum_extra::extract::cookie::{Cookie, Key, PrivateCookieJar};
use sealed_session::axum::SessionLayer;
use sealed_session::{KeyRing, Mode, Session};
use serde::{Deserialize, Serialize};

/// The cookie name every variant uses.
const COOKIE: &str = "session";
/// The session key of the counter.
const COUNT: &str = "count";
/// The session key of the extra data `/seed` stores.
const EXTRA: &str = "extra";
/// The most bytes `/seed` stores.
const MAX_SEED: usize = 64 * 1024;

/// The body of every route: the same shape and, on the replayed cookie, the same size for all
/// variants.
#[derive(Serialize)]
struct Count {
    count: u64,
}

fn count(n: u64) -> Json<Count> {
    Json(Count { count: n })
}

#[derive(Deserialize)]
struct SeedQuery {
    bytes: usize,
}

fn extra(q: &SeedQuery) -> String {
    "x".repeat(q.bytes.min(MAX_SEED))
}

fn plain() -> Router {
    Router::new().route("/plain", get(|| async { count(0) }))
}

/// `none`: constants. The benchmark's cookie holds count 1 (one `/counter` to obtain it), so a
/// replayed `/counter` answers 2 and `/me` answers 1 in the session variants.
fn none_router() -> Router {
    Router::new()
        .route("/counter", get(|| async { count(2) }))
        .route("/me", get(|| async { count(1) }))
        .route("/seed", get(|_: Query<SeedQuery>| async { count(0) }))
        .merge(plain())
}

/// `sealed`: this crate, default mode.
mod sealed {
    use super::*;

    fn current(session: &Session) -> u64 {
        session.get::<u64>(COUNT).ok().flatten().unwrap_or(0)
    }

    async fn counter(session: Session) -> Response {
        let n = current(&session).saturating_add(1);
        match session.insert(COUNT, &n) {
            Ok(()) => count(n).into_response(),
            Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        }
    }

    async fn me(session: Session) -> Json<Count> {
        count(current(&session))
    }

    async fn seed(session: Session, Query(q): Query<SeedQuery>) -> Response {
        if session.insert(EXTRA, &extra(&q)).is_err() || session.ensure_fits().is_err() {
            return StatusCode::PAYLOAD_TOO_LARGE.into_response();
        }
        count(current(&session)).into_response()
    }

    pub(super) fn router() -> Result<Router, sealed_session::Error> {
        let layer = SessionLayer::builder(KeyRing::generate())
            .with_secure(false)
            .with_cookie_name(COOKIE)
            .with_mode(mode()?)
            .build()?;
        Ok(Router::new()
            .route("/counter", get(counter))
            .route("/me", get(me))
            .route("/seed", get(seed))
            .merge(plain())
            .layer(layer))
    }
}

/// `private-jar`: axum-extra's `PrivateCookieJar`, the JSON value encrypted into the cookie.
mod private_jar {
    use super::*;

    #[derive(Serialize, Deserialize, Default)]
    struct Data {
        count: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        extra: Option<String>,
    }

    fn read(jar: &PrivateCookieJar) -> Data {
        jar.get(COOKIE)
            .and_then(|c| serde_json::from_str(c.value()).ok())
            .unwrap_or_default()
    }

    fn write(jar: PrivateCookieJar, data: &Data) -> Option<PrivateCookieJar> {
        let value = serde_json::to_string(data).ok()?;
        Some(
            jar.add(
                Cookie::build((COOKIE, value))
                    .path("/")
                    .http_only(true)
                    .same_site(axum_extra::extract::cookie::SameSite::Lax),
            ),
        )
    }

    async fn counter(jar: PrivateCookieJar) -> Response {
        let mut data = read(&jar);
        data.count = data.count.saturating_add(1);
        let n = data.count;
        match write(jar, &data) {
            Some(jar) => (jar, count(n)).into_response(),
            None => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        }
    }

    async fn me(jar: PrivateCookieJar) -> Json<Count> {
        count(read(&jar).count)
    }

    async fn seed(jar: PrivateCookieJar, Query(q): Query<SeedQuery>) -> Response {
        let mut data = read(&jar);
        data.extra = Some(extra(&q));
        let n = data.count;
        match write(jar, &data) {
            Some(jar) => (jar, count(n)).into_response(),
            None => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        }
    }

    pub(super) fn router() -> Router {
        Router::new()
            .route("/counter", get(counter))
            .route("/me", get(me))
            .route("/seed", get(seed))
            .with_state(Key::generate())
            .merge(plain())
    }
}

/// `tower-sessions`: the data in an in-process `MemoryStore`, an id in the cookie.
mod tower {
    use super::*;
    use tower_sessions::{MemoryStore, Session, SessionManagerLayer};

    async fn current(session: &Session) -> u64 {
        session.get::<u64>(COUNT).await.ok().flatten().unwrap_or(0)
    }

    async fn counter(session: Session) -> Response {
        let n = current(&session).await.saturating_add(1);
        match session.insert(COUNT, n).await {
            Ok(()) => count(n).into_response(),
            Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        }
    }

    async fn me(session: Session) -> Json<Count> {
        count(current(&session).await)
    }

    async fn seed(session: Session, Query(q): Query<SeedQuery>) -> Response {
        if session.insert(EXTRA, extra(&q)).await.is_err() {
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
        count(current(&session).await).into_response()
    }

    pub(super) fn router() -> Router {
        let layer = SessionManagerLayer::new(MemoryStore::default())
            .with_secure(false)
            .with_name(COOKIE);
        Router::new()
            .route("/counter", get(counter))
            .route("/me", get(me))
            .route("/seed", get(seed))
            .merge(plain())
            .layer(layer)
    }
}

/// The mode of the `sealed` variant: `SEALED_MODE` (a [`Mode`] name, such as `aes-256-gcm`), the
/// default mode when unset, so that `benches/http/callgrind.sh` can measure every mode.
fn mode() -> Result<Mode, sealed_session::Error> {
    match std::env::var("SEALED_MODE") {
        Err(_) => Ok(Mode::default()),
        Ok(name) => Mode::from_name(&name).ok_or_else(|| {
            sealed_session::Error::new(
                sealed_session::ErrorKind::InvalidConfig,
                "SEALED_MODE does not name a mode",
            )
        }),
    }
}

const USAGE: &str = "usage: bench_server <none|sealed|private-jar|tower-sessions> <addr>";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(variant), Some(addr)) = (args.next(), args.next()) else {
        return Err(USAGE.into());
    };
    let addr: SocketAddr = addr.parse()?;
    let app = match variant.as_str() {
        "none" => none_router(),
        "sealed" => sealed::router()?,
        "private-jar" => private_jar::router(),
        "tower-sessions" => tower::router(),
        other => return Err(format!("unknown variant {other:?}; {USAGE}").into()),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        println!(
            "bench_server {variant} listening on http://{}",
            listener.local_addr()?
        );
        axum::serve(listener, app).await?;
        Ok(())
    })
}
