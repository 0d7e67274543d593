//! The HTTP contract suite (`tests/common/http_suite.rs`) against the axum demo app
//! (`examples/axum_app.rs`, its `router`), served by `axum::serve` on an ephemeral port of
//! 127.0.0.1 and driven by reqwest, plus the checks only axum has:
//!
//! - opaque errors: the `Session` extractor without `SessionLayer` is a `500` with an empty body,
//!   and so is a response whose session no longer fits its cookie (a handler that grew it without
//!   `ensure_fits`), with no `Set-Cookie` and the client's previous session left intact;
//! - laziness: a route under the layer that never touches the session sends no `Set-Cookie`, even
//!   for a garbage cookie (which a route touching the session would delete).
//!
//! Run with `cargo test --features axum --test axum`; `RUST_LOG=debug` shows the server's events.

// clippy.toml's `allow-*-in-tests` covers `#[test]` functions only, not the helpers and handlers
// they use; here a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers: a panic is a failed test"
)]

use std::time::Duration;

use axum::extract::Request;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use sealed_session::axum::SessionLayer;
use sealed_session::Session;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

#[path = "common/http_suite.rs"]
mod http_suite;

#[path = "../examples/axum_app.rs"]
#[allow(dead_code, reason = "only `router` is used; `main` is the example's")]
mod app;

// The example's own `demo` module is private to it, so the test loads the file a second time to
// call `demo::configure` itself (the same settings the example's `main` uses).
#[path = "../examples/support/demo.rs"]
#[allow(
    clippy::duplicate_mod,
    reason = "app::demo is private; this copy only provides `configure`"
)]
mod demo;

use http_suite::{
    bare_client, browser, clock, ring, send, send_raw, session_pair, with_cookie, RunningServer,
    ServerConfig,
};

/// The demo's session layer for `config`, exactly as the example's `main` builds it (plus the
/// injected clock and the optional lifetime).
fn demo_layer(config: ServerConfig) -> SessionLayer {
    let mut builder =
        demo::configure(SessionLayer::builder(config.ring), config.secure).with_clock(config.clock);
    if let Some(lifetime) = config.lifetime {
        builder = builder.with_lifetime(lifetime);
    }
    if let Some(chunks) = config.chunking {
        builder = builder.with_chunking(Some(sealed_session::Chunking::new(chunks)));
    }
    if let Some(revocation) = config.revocation {
        builder = builder.with_revocation(revocation);
    }
    builder.build().expect("the demo's session layer")
}

/// The suite's start function for axum: the example's router under the demo layer.
async fn start_axum(config: ServerConfig) -> RunningServer {
    serve(app::router(demo_layer(config))).await
}

/// Serve `router` on 127.0.0.1:0 in a spawned task; stopping sends the graceful-shutdown signal
/// and waits (at most 10 s, then aborts) for the server to finish.
async fn serve(router: Router) -> RunningServer {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("the bound address");
    let (tx, rx) = oneshot::channel::<()>();
    let handle = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await
    });
    RunningServer::new(addr, move || async move {
        let _ = tx.send(());
        let abort = handle.abort_handle();
        match tokio::time::timeout(Duration::from_secs(10), handle).await {
            Ok(joined) => joined
                .expect("the server task")
                .expect("axum::serve ended with an error"),
            Err(_) => {
                abort.abort();
                panic!("the axum server did not shut down within 10 s");
            }
        }
    })
}

http_suite!(start_axum);

// ---------------------------------------------------------------------------------------------
// axum-only checks
// ---------------------------------------------------------------------------------------------

/// A route under the layer that never touches the session. It answers `200` only when the layer
/// did run (the session is in the request's extensions), with whether the session was opened
/// (`is_loaded` never opens; without any cookie there is nothing to open, so it is `true`).
async fn health(request: Request) -> Result<String, StatusCode> {
    match request.extensions().get::<Session>() {
        Some(session) => Ok(format!("ok loaded={}", session.is_loaded())),
        None => Err(StatusCode::NOT_IMPLEMENTED),
    }
}

/// Stores a user.
async fn set_user(session: Session) -> &'static str {
    session.insert("user", &"ann").expect("insert");
    "ok"
}

/// Reads the user.
async fn whoami(session: Session) -> Json<Option<String>> {
    Json(session.get::<String>("user").ok().flatten())
}

/// Grows the session past one cookie WITHOUT `ensure_fits`: the layer must answer an opaque 500.
async fn grow(session: Session) -> &'static str {
    session
        .insert("big", &"x".repeat(10 * 1024))
        .expect("insert");
    "grown: this text must not reach the client"
}

/// A small app of its own under the demo's layer, for the axum-only checks.
fn test_router(layer: SessionLayer) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/set", get(set_user))
        .route("/whoami", get(whoami))
        .route("/grow", get(grow))
        .layer(layer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extractor_without_layer_is_opaque_500() {
    http_suite::init_tracing();
    let router = Router::new().route("/whoami", get(whoami));
    let server = serve(router).await;
    let c = bare_client();

    for cookie in [None, Some(session_pair("anything"))] {
        let mut request = c.get(server.url("/whoami"));
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_session_at_response_time_is_opaque_500() {
    http_suite::init_tracing();
    let clock = clock();
    let server = serve(test_router(demo_layer(ServerConfig::new(ring(), &clock)))).await;
    let b = browser();

    let r = send("set", b.get(server.url("/set"))).await;
    assert_eq!(r.status, StatusCode::OK);
    r.expect_issued();

    let r = send_raw("grow 10 KB", b.get(server.url("/grow"))).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", r.what);
    assert!(r.body.is_empty(), "{}: body {:?}", r.what, r.text());
    r.expect_no_set_cookie();

    // No broken cookie was sent, so the previous session is intact.
    let r = send("whoami after the 500", b.get(server.url("/whoami"))).await;
    r.expect_json(StatusCode::OK, &json!("ann"));
    r.expect_no_set_cookie();

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untouched_session_sends_no_cookie() {
    http_suite::init_tracing();
    let clock = clock();
    let server = serve(test_router(demo_layer(ServerConfig::new(ring(), &clock)))).await;
    let c = bare_client();

    let r = send("health, no cookie", c.get(server.url("/health"))).await;
    assert_eq!(r.status, StatusCode::OK, "{}: {}", r.what, r.text());
    assert_eq!(r.text(), "ok loaded=true", "{}", r.what);
    r.expect_no_set_cookie();

    // A garbage cookie is never even opened (so never refused, so never deleted).
    let r = send(
        "health, garbage cookie",
        with_cookie(c.get(server.url("/health")), &session_pair("!!!garbage!!!")),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}: {}", r.what, r.text());
    assert_eq!(r.text(), "ok loaded=false", "{}", r.what);
    r.expect_no_set_cookie();

    // The same garbage cookie on a route that reads the session is refused and deleted.
    let r = send(
        "whoami, garbage cookie",
        with_cookie(c.get(server.url("/whoami")), &session_pair("!!!garbage!!!")),
    )
    .await;
    r.expect_json(StatusCode::OK, &json!(null));
    r.expect_deletion();

    server.stop().await;
}
