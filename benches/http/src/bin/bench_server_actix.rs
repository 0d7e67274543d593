//! The server behind the actix-web HTTP benchmark in `benches/http/actix.sh` (issue 5): one
//! binary, three session back-ends, the same routes and the same JSON bodies. It is the actix-web
//! twin of `bench_server.rs` (the axum benchmark's server).
//!
//! ```text
//! cargo build --release -p sealed-session-http-bench --features actix --bin bench_server_actix
//! target/release/bench_server_actix <variant> <addr>
//! ```
//!
//! `<variant>` is one of
//! - `none`: no session at all; the handlers answer the JSON the session variants answer on the
//!   replayed benchmark cookie, from constants;
//! - `sealed`: this crate's [`SessionMiddleware`] in its default mode (AES-256-GCM-SIV);
//! - `actix-session`: `actix-session`'s `SessionMiddleware` over its `CookieSessionStore` (the
//!   whole session as JSON in a private, AES-256-GCM encrypted cookie), its default settings.
//!
//! Routes, the same for every variant:
//! - `GET /counter`: increment a `u64` counter in the session, answer `{"count":N}`;
//! - `GET /me`: read the counter without writing, answer `{"count":N}`;
//! - `GET /seed?bytes=N`: store N bytes of extra data in the session (to set up the 1 KiB case),
//!   answer `{"count":N}` with the current counter;
//! - `GET /plain`: answer `{"count":0}` without touching the session, to measure what a middleware
//!   costs on its own.
//!
//! The server runs ONE worker (`HttpServer::workers(1)`: one thread, one single-threaded runtime),
//! so that pinning the process to one core (`taskset -c 0`) measures requests per second per core.
//! Signal handling is off: `SIGTERM` ends the process at once, as it does the axum server.

use std::net::SocketAddr;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::{web, App, HttpResponse, HttpServer};
use sealed_session::actix::SessionMiddleware;
use sealed_session::{KeyRing, Session};
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

fn count(n: u64) -> HttpResponse {
    HttpResponse::Ok().json(Count { count: n })
}

#[derive(Deserialize)]
struct SeedQuery {
    bytes: usize,
}

fn extra(q: &SeedQuery) -> String {
    "x".repeat(q.bytes.min(MAX_SEED))
}

async fn plain() -> HttpResponse {
    count(0)
}

/// `none`: constants. The benchmark's cookie holds count 1 (one `/counter` to obtain it), so a
/// replayed `/counter` answers 2 and `/me` answers 1 in the session variants.
fn none_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/counter", web::get().to(|| async { count(2) }))
        .route("/me", web::get().to(|| async { count(1) }))
        .route(
            "/seed",
            web::get().to(|_: web::Query<SeedQuery>| async { count(0) }),
        )
        .route("/plain", web::get().to(plain));
}

/// `sealed`: this crate, default mode.
mod sealed {
    use super::*;

    fn current(session: &Session) -> u64 {
        session.get::<u64>(COUNT).ok().flatten().unwrap_or(0)
    }

    async fn counter(session: Session) -> HttpResponse {
        let n = current(&session).saturating_add(1);
        match session.insert(COUNT, &n) {
            Ok(()) => count(n),
            Err(_) => HttpResponse::InternalServerError().finish(),
        }
    }

    async fn me(session: Session) -> HttpResponse {
        count(current(&session))
    }

    async fn seed(session: Session, q: web::Query<SeedQuery>) -> HttpResponse {
        if session.insert(EXTRA, &extra(&q)).is_err() || session.ensure_fits().is_err() {
            return HttpResponse::PayloadTooLarge().finish();
        }
        count(current(&session))
    }

    pub(super) fn middleware() -> Result<SessionMiddleware, sealed_session::Error> {
        SessionMiddleware::builder(KeyRing::generate())
            .with_secure(false)
            .with_cookie_name(COOKIE)
            .with_mode(super::mode()?)
            .build()
    }

    pub(super) fn routes(cfg: &mut web::ServiceConfig) {
        cfg.route("/counter", web::get().to(counter))
            .route("/me", web::get().to(me))
            .route("/seed", web::get().to(seed))
            .route("/plain", web::get().to(plain));
    }
}

/// `actix-session`: `CookieSessionStore`, the session's JSON encrypted into the cookie.
mod actix_session_store {
    use super::*;
    use actix_session::storage::CookieSessionStore;
    use actix_session::{Session, SessionMiddleware};
    use actix_web::cookie::Key;

    fn current(session: &Session) -> u64 {
        session.get::<u64>(COUNT).ok().flatten().unwrap_or(0)
    }

    async fn counter(session: Session) -> HttpResponse {
        let n = current(&session).saturating_add(1);
        match session.insert(COUNT, n) {
            Ok(()) => count(n),
            Err(_) => HttpResponse::InternalServerError().finish(),
        }
    }

    async fn me(session: Session) -> HttpResponse {
        count(current(&session))
    }

    async fn seed(session: Session, q: web::Query<SeedQuery>) -> HttpResponse {
        if session.insert(EXTRA, extra(&q)).is_err() {
            return HttpResponse::InternalServerError().finish();
        }
        count(current(&session))
    }

    pub(super) fn middleware(key: Key) -> SessionMiddleware<CookieSessionStore> {
        SessionMiddleware::builder(CookieSessionStore::default(), key)
            .cookie_secure(false)
            .cookie_name(COOKIE.to_owned())
            .build()
    }

    pub(super) fn routes(cfg: &mut web::ServiceConfig) {
        cfg.route("/counter", web::get().to(counter))
            .route("/me", web::get().to(me))
            .route("/seed", web::get().to(seed))
            .route("/plain", web::get().to(plain));
    }
}

/// The mode of the `sealed` variant: `SEALED_MODE` (a [`Mode`] name, such as `aes-256-gcm`), the
/// default mode when unset, so that `benches/http/callgrind.sh` can measure every mode.
fn mode() -> Result<sealed_session::Mode, sealed_session::Error> {
    match std::env::var("SEALED_MODE") {
        Err(_) => Ok(sealed_session::Mode::default()),
        Ok(name) => sealed_session::Mode::from_name(&name).ok_or_else(|| {
            sealed_session::Error::new(
                sealed_session::ErrorKind::InvalidConfig,
                "SEALED_MODE does not name a mode",
            )
        }),
    }
}

const USAGE: &str = "usage: bench_server_actix <none|sealed|actix-session> <addr>";

/// The server for `variant`'s app: one worker, no signal handling, bound to `addr`.
fn server<F, T, B>(variant: &str, factory: F, addr: SocketAddr) -> std::io::Result<Server>
where
    F: Fn() -> App<T> + Send + Clone + 'static,
    T: ServiceFactory<
            ServiceRequest,
            Config = (),
            Response = ServiceResponse<B>,
            Error = actix_web::Error,
            InitError = (),
        > + 'static,
    B: MessageBody + 'static,
{
    let bound = HttpServer::new(factory)
        .workers(1)
        .disable_signals()
        .bind(addr)?;
    for local in bound.addrs() {
        println!("bench_server_actix {variant} listening on http://{local}");
    }
    Ok(bound.run())
}

/// A variant, configured (keys generated) before the server starts.
enum Variant {
    None,
    Sealed(SessionMiddleware),
    ActixSession(actix_web::cookie::Key),
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(name), Some(addr)) = (args.next(), args.next()) else {
        return Err(USAGE.into());
    };
    let addr: SocketAddr = addr.parse()?;
    let variant = match name.as_str() {
        "none" => Variant::None,
        "sealed" => Variant::Sealed(sealed::middleware()?),
        "actix-session" => Variant::ActixSession(actix_web::cookie::Key::generate()),
        other => return Err(format!("unknown variant {other:?}; {USAGE}").into()),
    };
    actix_web::rt::System::new().block_on(async move {
        let server = match variant {
            Variant::None => server(&name, || App::new().configure(none_routes), addr)?,
            Variant::Sealed(middleware) => server(
                &name,
                move || {
                    App::new()
                        .wrap(middleware.clone())
                        .configure(sealed::routes)
                },
                addr,
            )?,
            Variant::ActixSession(key) => server(
                &name,
                move || {
                    App::new()
                        .wrap(actix_session_store::middleware(key.clone()))
                        .configure(actix_session_store::routes)
                },
                addr,
            )?,
        };
        server.await?;
        Ok(())
    })
}
