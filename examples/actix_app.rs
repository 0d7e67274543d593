//! The demo app on actix-web: the same routes, environment variables and behaviour as
//! `examples/axum_app.rs` (both map their requests onto `examples/support/demo.rs`).
//!
//! ```text
//! cargo run --features actix --example actix_app
//! SESSION_COOKIE_SECURE=false cargo run --features actix --example actix_app   # plain-http clients
//! ```

use actix_web::http::header::{self, HeaderMap};
use actix_web::http::StatusCode;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use sealed_session::actix::SessionMiddleware;
use sealed_session::Session;
use serde::Deserialize;
use serde_json::Value;

#[path = "support/demo.rs"]
mod demo;

/// The app's routes (wrap the result in [`SessionMiddleware`]).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(index))
        .route("/api/counter", web::get().to(counter))
        .route("/api/me", web::get().to(me))
        .route("/api/greeting", web::get().to(greeting))
        .route("/api/login", web::post().to(login))
        .route("/api/logout", web::post().to(logout))
        .route("/api/big", web::get().to(big));
}

fn reply(result: Result<Value, demo::Refusal>) -> HttpResponse {
    match result {
        Ok(v) => HttpResponse::Ok().json(v),
        Err(r) => {
            let status =
                StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            HttpResponse::build(status).json(r.body)
        }
    }
}

fn wants_html(headers: &HeaderMap) -> bool {
    demo::wants_html(headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()))
}

fn see_root() -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/"))
        .finish()
}

async fn index(session: Session) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(demo::page(&session))
}

async fn counter(session: Session) -> HttpResponse {
    reply(demo::counter(&session))
}

async fn me(session: Session) -> HttpResponse {
    HttpResponse::Ok().json(demo::me(&session))
}

async fn greeting(session: Session) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, demo::GREETING_CACHE_CONTROL))
        .json(demo::greeting(&session))
}

#[derive(Deserialize)]
struct LoginBody {
    user: String,
}

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
    let Some(parsed) = parsed else {
        return HttpResponse::BadRequest().json(serde_json::json!({"error": "invalid_user"}));
    };
    match demo::login(&session, &parsed.user) {
        Ok(_) if wants_html(request.headers()) => see_root(),
        result => reply(result),
    }
}

async fn logout(session: Session, request: HttpRequest) -> HttpResponse {
    let body = demo::logout(&session);
    if wants_html(request.headers()) {
        see_root()
    } else {
        HttpResponse::Ok().json(body)
    }
}

#[derive(Deserialize)]
struct BigQuery {
    bytes: usize,
}

async fn big(session: Session, q: web::Query<BigQuery>) -> HttpResponse {
    reply(demo::big(&session, q.bytes))
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let settings = demo::Settings::from_env()?;
    let middleware: SessionMiddleware = settings.session().build()?;
    let server = HttpServer::new(move || App::new().wrap(middleware.clone()).configure(routes))
        .bind(&settings.bind)?;
    for addr in server.addrs() {
        println!("actix-web demo listening on http://{addr}");
    }
    server.run().await?;
    Ok(())
}
