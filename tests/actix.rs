//! The HTTP contract suite (`tests/common/http_suite.rs`) against the actix-web demo app
//! (`examples/actix_app.rs`, its `routes`) plus the suite's two probe routes, served by a real `HttpServer` (one worker, on its own
//! thread and actix `System`) on an ephemeral port of 127.0.0.1 and driven by reqwest, plus the
//! checks only the actix-web adapter has:
//!
//! - `SessionExt`: `HttpRequest::session()` and `ServiceRequest::session()` reach the very session
//!   the extractor gives the handler, and find none without the middleware;
//! - attributes actix's own cookie type cannot always express: `SameSite=None`, `Secure`,
//!   `Partitioned`, `HttpOnly` and `Path=/` on the issued cookie and on the deletion cookie
//!   (through `actix_web::test`, since reqwest's cookie store never sends a Secure cookie over
//!   plain http).
//!
//! Run with `cargo test --features actix --test actix`; `RUST_LOG=debug` shows the server's
//! events.

// clippy.toml's `allow-*-in-tests` covers `#[test]` functions only, not the helpers and handlers
// they use; here a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers: a panic is a failed test"
)]

use std::io;
use std::net::TcpListener;
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::header::{COOKIE as ACTIX_COOKIE, SET_COOKIE as ACTIX_SET_COOKIE};
use actix_web::http::StatusCode as ActixStatus;
use actix_web::{test, web, App, HttpMessage, HttpRequest, HttpResponse, HttpServer};
use cookie::Cookie;
use reqwest::StatusCode;
use sealed_session::actix::{SessionExt, SessionMiddleware};
use sealed_session::{SameSite, Session};
use serde_json::json;
use tokio::sync::oneshot;

#[path = "common/http_suite.rs"]
mod http_suite;

#[path = "../examples/actix_app.rs"]
#[allow(dead_code, reason = "only `routes` is used; `main` is the example's")]
mod app;

// The example's own `demo` module is private to it, so the test loads the file a second time to
// call `demo::configure` itself (the same settings the example's `main` uses).
#[path = "../examples/support/demo.rs"]
#[allow(
    clippy::duplicate_mod,
    reason = "app::demo is private; this copy only provides `configure`"
)]
mod demo;

use http_suite::{bare_client, browser, clock, ring, send, RunningServer, ServerConfig};

/// How long a graceful stop may wait for open (keep-alive) connections before the worker drops
/// them. The suite's clients keep pooled connections open while they stop the server.
const SHUTDOWN_TIMEOUT_SECS: u64 = 1;

/// The demo's session middleware for `config`, exactly as the example's `main` builds it, plus
/// what the case asks for.
fn demo_middleware(config: ServerConfig) -> SessionMiddleware {
    let demo = demo::configure(
        SessionMiddleware::builder(config.ring.clone()),
        config.secure,
    );
    http_suite::with_case_settings(demo, config)
        .build()
        .expect("the demo's session middleware")
}

/// The suite's probe routes ("Probe routes" in `http_suite`).
fn probes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        http_suite::PROBE_UNTOUCHED,
        web::get().to(|request: HttpRequest| async move {
            match http_suite::untouched_body(request.extensions().get::<Session>()) {
                Some(body) => HttpResponse::Ok().body(body),
                None => HttpResponse::NotImplemented().finish(),
            }
        }),
    )
    .route(
        http_suite::PROBE_EXTRACT,
        web::get().to(|_: Session| async { http_suite::EXTRACTED }),
    );
}

/// The suite's start function for actix-web: the example's routes and the probes under the demo
/// middleware, or the probes alone without it.
async fn start_actix(config: ServerConfig) -> RunningServer {
    if !config.session_layer {
        return serve(|| App::new().configure(probes)).await;
    }
    let middleware = demo_middleware(config);
    serve(move || {
        App::new()
            .wrap(middleware.clone())
            .configure(app::routes)
            .configure(probes)
    })
    .await
}

/// Serve the app `factory` builds on 127.0.0.1:0 with one worker, on a thread of its own running
/// an actix `System` (actix-web's services are not `Send`, so they cannot live on the test's
/// tokio runtime). Returns once the server runs; stopping stops it gracefully (open connections
/// get [`SHUTDOWN_TIMEOUT_SECS`]) and waits (at most 10 s) for the thread's `System` to end.
async fn serve<F, T, B>(factory: F) -> RunningServer
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
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("the bound address");
    let (ready_tx, ready_rx) = oneshot::channel::<io::Result<actix_web::dev::ServerHandle>>();
    let (done_tx, done_rx) = oneshot::channel::<io::Result<()>>();
    std::thread::Builder::new()
        .name(format!("actix-{addr}"))
        .spawn(move || {
            let result = actix_web::rt::System::new().block_on(async move {
                let server = HttpServer::new(factory)
                    .workers(1)
                    .disable_signals()
                    .shutdown_timeout(SHUTDOWN_TIMEOUT_SECS)
                    .listen(listener)
                    .map(HttpServer::run);
                match server {
                    Ok(server) => {
                        let _ = ready_tx.send(Ok(server.handle()));
                        server.await
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        Ok(())
                    }
                }
            });
            let _ = done_tx.send(result);
        })
        .expect("spawn the actix server thread");
    let handle = ready_rx
        .await
        .expect("the actix server thread answered")
        .expect("the actix server started");
    RunningServer::new(addr, move || async move {
        handle.stop(true).await;
        match tokio::time::timeout(Duration::from_secs(10), done_rx).await {
            Ok(Ok(result)) => result.expect("the actix server ended with an error"),
            Ok(Err(_)) => panic!("the actix server thread panicked"),
            Err(_) => panic!("the actix server did not shut down within 10 s"),
        }
    })
}

http_suite!(start_actix);

// ---------------------------------------------------------------------------------------------
// actix-only checks
// ---------------------------------------------------------------------------------------------

/// Writes through the extractor and reads through `HttpRequest::session()`, then the other way
/// round, and reads what `mark_from_middleware` stored through `ServiceRequest::session()`.
async fn both_handles(session: Session, request: HttpRequest) -> web::Json<serde_json::Value> {
    let via_request = request.session().expect("SessionExt under the middleware");
    session.insert("a", &1).expect("insert a");
    let a = via_request.get::<u32>("a").expect("a as u32");
    via_request.insert("b", &2).expect("insert b");
    let b = session.get::<u32>("b").expect("b as u32");
    let from_mw = session.get::<String>("mw").expect("mw as a string");
    web::Json(json!({
        "a": a,
        "b": b,
        "mw": from_mw,
        "same_id": session.id() == via_request.id(),
    }))
}

/// Reads back what `both_handles` stored, on a later request.
async fn read_both(session: Session) -> web::Json<serde_json::Value> {
    web::Json(json!({
        "a": session.get::<u32>("a").expect("a"),
        "b": session.get::<u32>("b").expect("b"),
        "mw": session.get::<String>("mw").expect("mw"),
    }))
}

/// Whether `HttpRequest::session()` finds a session (it must not without the middleware).
async fn has_session(request: HttpRequest) -> String {
    format!("session={}", request.session().is_some())
}

/// A small app of its own, for the actix-only checks.
fn test_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/both", web::get().to(both_handles))
        .route("/read-both", web::get().to(read_both))
        .route("/has-session", web::get().to(has_session));
}

/// `HttpRequest::session()` without the middleware finds nothing, and is no error (the `Session`
/// extractor's opaque `500` there is the suite's `extractor_without_layer_is_opaque_500`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_ext_without_middleware_finds_nothing() {
    http_suite::init_tracing();
    let server = serve(|| App::new().configure(test_routes)).await;
    let c = bare_client();

    let r = send(
        "has-session, no middleware",
        c.get(server.url("/has-session")),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.what);
    assert_eq!(r.text(), "session=false", "{}", r.what);
    r.expect_no_set_cookie();

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_ext_reaches_the_extractors_session() {
    http_suite::init_tracing();
    let clock = clock();
    let middleware = demo_middleware(ServerConfig::new(ring(), &clock));
    // `wrap_fn` registered before `wrap(middleware)` runs inside it, so it sees the session
    // through `ServiceRequest::session()` before the handler does.
    let server = serve(move || {
        App::new()
            .wrap_fn(|req, srv| {
                let session = req.session().expect("SessionExt on a ServiceRequest");
                session
                    .insert("mw", &"set in middleware")
                    .expect("insert mw");
                srv.call(req)
            })
            .wrap(middleware.clone())
            .configure(test_routes)
    })
    .await;
    let b = browser();

    let r = send("both", b.get(server.url("/both"))).await;
    r.expect_json(
        StatusCode::OK,
        &json!({ "a": 1, "b": 2, "mw": "set in middleware", "same_id": true }),
    );
    // One session, so one cookie carrying all three writes.
    r.expect_issued();

    let r = send("read-both", b.get(server.url("/read-both"))).await;
    r.expect_json(
        StatusCode::OK,
        &json!({ "a": 1, "b": 2, "mw": "set in middleware" }),
    );
    // `mw` is rewritten with the same value: no change, no cookie.
    r.expect_no_set_cookie();

    server.stop().await;
}

/// Logs in (stores a user).
async fn secure_login(session: Session) -> &'static str {
    session.insert("user", &"ann").expect("insert");
    "in"
}

/// Logs out (purges).
async fn secure_logout(session: Session) -> String {
    let user = session.get::<String>("user").expect("user as a string");
    session.purge();
    format!("out {}", user.unwrap_or_default())
}

/// Every `Set-Cookie` of a response, parsed, with the raw value for messages.
fn set_cookies<B>(response: &ServiceResponse<B>) -> Vec<(String, Cookie<'static>)> {
    response
        .headers()
        .get_all(ACTIX_SET_COOKIE)
        .map(|v| {
            let raw = v.to_str().expect("an ASCII Set-Cookie").to_owned();
            let parsed = Cookie::parse(raw.clone())
                .unwrap_or_else(|e| panic!("unparsable Set-Cookie {raw:?}: {e}"));
            (raw, parsed)
        })
        .collect()
}

/// Assert the cross-site attributes on one parsed cookie.
fn assert_cross_site(what: &str, raw: &str, c: &Cookie<'_>) {
    assert_eq!(c.name(), "__Host-s", "{what}: name in {raw:?}");
    assert_eq!(
        c.same_site(),
        Some(cookie::SameSite::None),
        "{what}: SameSite in {raw:?}"
    );
    assert_eq!(c.secure(), Some(true), "{what}: Secure in {raw:?}");
    assert_eq!(
        c.partitioned(),
        Some(true),
        "{what}: Partitioned in {raw:?}"
    );
    assert_eq!(c.http_only(), Some(true), "{what}: HttpOnly in {raw:?}");
    assert_eq!(c.path(), Some("/"), "{what}: Path in {raw:?}");
    assert_eq!(c.domain(), None, "{what}: Domain in {raw:?}");
}

#[actix_web::test]
async fn same_site_none_partitioned_attributes_reach_the_response() {
    http_suite::init_tracing();
    let middleware = SessionMiddleware::builder(ring())
        .with_cookie_name("__Host-s")
        .with_secure(true)
        .with_same_site(SameSite::None)
        .with_partitioned(true)
        .build()
        .expect("a cross-site, partitioned configuration");
    let app = test::init_service(
        App::new()
            .wrap(middleware)
            .route("/login", web::post().to(secure_login))
            .route("/logout", web::post().to(secure_logout)),
    )
    .await;

    // Login: one cookie, with every attribute.
    let response =
        test::call_service(&app, test::TestRequest::post().uri("/login").to_request()).await;
    assert_eq!(response.status(), ActixStatus::OK);
    let issued = set_cookies(&response);
    assert_eq!(issued.len(), 1, "login: {issued:?}");
    let (raw, cookie) = &issued[0];
    assert_cross_site("login", raw, cookie);
    assert!(!cookie.value().is_empty(), "login: empty value in {raw:?}");
    let pair = format!("{}={}", cookie.name(), cookie.value());

    // Logout with that cookie: a deletion cookie, with the same attributes (a browser only
    // replaces a cookie whose name, path and partition match).
    let response = test::call_service(
        &app,
        test::TestRequest::post()
            .uri("/logout")
            .insert_header((ACTIX_COOKIE, pair.as_str()))
            .to_request(),
    )
    .await;
    assert_eq!(response.status(), ActixStatus::OK);
    let deleted = set_cookies(&response);
    let body = test::read_body(response).await;
    assert_eq!(body.as_ref(), b"out ann", "logout saw the session");
    assert_eq!(deleted.len(), 1, "logout: {deleted:?}");
    let (raw, cookie) = &deleted[0];
    assert_cross_site("logout", raw, cookie);
    assert_eq!(cookie.value(), "", "logout: value in {raw:?}");
    assert_eq!(
        cookie.max_age(),
        Some(cookie::time::Duration::ZERO),
        "logout: Max-Age in {raw:?}"
    );
}
