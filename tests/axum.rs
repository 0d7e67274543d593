//! The HTTP contract suite (`tests/common/http_suite.rs`) against the axum demo app
//! (`examples/axum_app.rs`, its `router`) plus the suite's two probe routes, served by
//! `axum::serve` on an ephemeral port of 127.0.0.1 and driven by reqwest. Every check lives in
//! the suite; this file only says how axum builds and serves the app.
//!
//! Run with `cargo test --features axum,config --test axum`; `RUST_LOG=debug` shows the server's
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

use std::time::Duration;

use axum::extract::Request;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use sealed_session::axum::SessionLayer;
use sealed_session::Session;
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

use http_suite::{RunningServer, ServerConfig};

/// The demo's session layer for `config`, exactly as the example's `main` builds it, plus what
/// the case asks for.
fn demo_layer(config: ServerConfig) -> SessionLayer {
    let demo = demo::configure(SessionLayer::builder(config.ring.clone()), config.secure);
    http_suite::with_case_settings(demo, config)
        .build()
        .expect("the demo's session layer")
}

/// The suite's probe routes ("Probe routes" in `http_suite`), without a layer.
fn probes() -> Router {
    Router::new()
        .route(
            http_suite::PROBE_UNTOUCHED,
            get(|request: Request| async move {
                http_suite::untouched_body(request.extensions().get::<Session>())
                    .ok_or(StatusCode::NOT_IMPLEMENTED)
            }),
        )
        .route(
            http_suite::PROBE_EXTRACT,
            get(|_: Session| async { http_suite::EXTRACTED }),
        )
}

/// The suite's start function for axum: the example's router and the probes under the demo
/// layer, or the probes alone without it.
async fn start_axum(config: ServerConfig) -> RunningServer {
    if !config.session_layer {
        return serve(probes()).await;
    }
    let layer = demo_layer(config);
    serve(app::router(layer.clone()).merge(probes().layer(layer))).await
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
