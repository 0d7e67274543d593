//! The demo app on axum: sessions in sealed cookies, no external service.
//!
//! ```text
//! cargo run --features axum --example axum_app
//! SESSION_COOKIE_SECURE=false cargo run --features axum --example axum_app   # plain-http clients
//! ```
//!
//! `BIND` (default `127.0.0.1:3000`), `SESSION_KEYS` (`id:secret,...`, first is primary; when
//! unset a fresh ring is generated and sessions do not survive a restart) and
//! `SESSION_COOKIE_SECURE` configure it. The routes and their behaviour live in
//! `examples/support/demo.rs`, shared with the actix-web app.

use axum::extract::{FromRequest, Query, Request};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use sealed_session::axum::SessionLayer;
use sealed_session::Session;
use serde::Deserialize;
use serde_json::Value;

#[path = "support/demo.rs"]
mod demo;

/// The app's routes under a session layer.
pub fn router(layer: SessionLayer) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/api/counter", get(counter))
        .route("/api/me", get(me))
        .route("/api/greeting", get(greeting))
        .route("/api/login", post(login))
        .route("/api/logout", post(logout))
        .route("/api/big", get(big))
        .layer(layer)
}

fn reply(result: Result<Value, demo::Refusal>) -> Response {
    match result {
        Ok(v) => Json(v).into_response(),
        Err(r) => {
            let status =
                StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (status, Json(r.body)).into_response()
        }
    }
}

fn wants_html(headers: &HeaderMap) -> bool {
    demo::wants_html(headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()))
}

async fn index(session: Session) -> Html<String> {
    Html(demo::page(&session))
}

async fn counter(session: Session) -> Response {
    reply(demo::counter(&session))
}

async fn me(session: Session) -> Json<Value> {
    Json(demo::me(&session))
}

async fn greeting(session: Session) -> Response {
    (
        [(header::CACHE_CONTROL, demo::GREETING_CACHE_CONTROL)],
        Json(demo::greeting(&session)),
    )
        .into_response()
}

#[derive(Deserialize)]
struct LoginBody {
    user: String,
}

async fn login(session: Session, request: Request) -> Response {
    let html = wants_html(request.headers());
    let is_json = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    let body = if is_json {
        Json::<LoginBody>::from_request(request, &())
            .await
            .map(|Json(b)| b)
            .ok()
    } else {
        Form::<LoginBody>::from_request(request, &())
            .await
            .map(|Form(b)| b)
            .ok()
    };
    let Some(body) = body else {
        return (
            StatusCode::BAD_REQUEST,
            Json(serde_json::json!({"error": "invalid_user"})),
        )
            .into_response();
    };
    match demo::login(&session, &body.user) {
        Ok(_) if html => Redirect::to("/").into_response(),
        result => reply(result),
    }
}

async fn logout(session: Session, headers: HeaderMap) -> Response {
    let body = demo::logout(&session);
    if wants_html(&headers) {
        Redirect::to("/").into_response()
    } else {
        Json(body).into_response()
    }
}

#[derive(Deserialize)]
struct BigQuery {
    bytes: usize,
}

async fn big(session: Session, Query(q): Query<BigQuery>) -> Response {
    reply(demo::big(&session, q.bytes))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let settings = demo::Settings::from_env()?;
    let layer: SessionLayer = settings.session().build()?;
    let listener = tokio::net::TcpListener::bind(&settings.bind).await?;
    println!("axum demo listening on http://{}", listener.local_addr()?);
    axum::serve(listener, router(layer))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
