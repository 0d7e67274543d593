//! CSRF tokens in axum: [`CsrfToken`] issues one for the request's session, [`Csrf`] checks one
//! before the extractor it wraps runs.
//!
//! On an unsafe method (anything but GET, HEAD, OPTIONS and TRACE), [`Csrf`] reads the token
//! from the `X-CSRF-Token` header or, when there is none and the body is a urlencoded form, from
//! its `csrf_token` field; it buffers that body (up to
//! [`CsrfConfig::max_form_bytes`], `413` beyond) and hands the same bytes to the wrapped
//! extractor, so the handler still reads its form. A refused token is an opaque `403` with an
//! empty body; the [`CsrfRejection`](crate::csrf::CsrfRejection) is logged. Put a
//! [`CsrfConfig`] in the request extensions (`axum::Extension(config)`) to change the header,
//! the field or the limit.
//!
//! ```no_run
//! use axum::routing::{get, post};
//! use axum::{Form, Json, Router};
//! use sealed_session::axum::{Csrf, CsrfToken, SessionLayer};
//! use sealed_session::{KeyRing, Session};
//!
//! #[derive(serde::Deserialize)]
//! struct Login { user: String }
//!
//! async fn token(CsrfToken(token): CsrfToken) -> Json<serde_json::Value> {
//!     Json(serde_json::json!({ "csrf_token": token }))
//! }
//!
//! // The form (with its `csrf_token` field, or the header) is checked before `Form` reads it.
//! async fn login(session: Session, Csrf(Form(login)): Csrf<Form<Login>>) -> &'static str {
//!     let _ = session.insert("user", &login.user);
//!     session.renew();
//!     "ok"
//! }
//!
//! # fn app() -> Result<Router, sealed_session::Error> {
//! let layer = SessionLayer::builder(KeyRing::generate()).build()?;
//! Ok(Router::new()
//!     .route("/api/csrf", get(token))
//!     .route("/api/login", post(login))
//!     .layer(layer))
//! # }
//! ```

use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::response::{IntoResponse, Response};
use http::{header, StatusCode};

use crate::csrf::{self, CsrfConfig, CsrfRejection};
use crate::session::Session;

/// A CSRF token for the request's session (which is given a lineage, and so a cookie, if it had
/// none). Its rejection is an opaque `500`: the session layer is missing or sealing failed.
#[derive(Clone, Debug)]
pub struct CsrfToken(pub String);

impl<S: Send + Sync> FromRequestParts<S> for CsrfToken {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        csrf::token_for(&session)
            .map(CsrfToken)
            .map_err(|e| crate::axum::error_response(&e))
    }
}

/// Checks the request's CSRF token on unsafe methods, then runs the body extractor `E`
/// (`Csrf<Form<T>>`, `Csrf<Json<T>>`, `Csrf<Bytes>`, or `Csrf<Request>` for a handler that
/// reads no body or reads it itself). Like any body extractor, it is the handler's last
/// argument.
#[derive(Clone, Copy, Debug)]
pub struct Csrf<E>(pub E);

fn forbidden(reason: CsrfRejection) -> Response {
    tracing::warn!(%reason, "refused a request without a valid CSRF token");
    StatusCode::FORBIDDEN.into_response()
}

impl<S, E> FromRequest<S> for Csrf<E>
where
    S: Send + Sync,
    E: FromRequest<S>,
{
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let req = if csrf::is_unsafe_method(req.method().as_str()) {
            checked(req).await?
        } else {
            req
        };
        E::from_request(req, state)
            .await
            .map(Csrf)
            .map_err(IntoResponse::into_response)
    }
}

/// The request, after its token verified (with its body as it came).
async fn checked(req: Request) -> Result<Request, Response> {
    let Some(session) = req.extensions().get::<Session>().cloned() else {
        return Err(crate::error::MissingSession.into_response());
    };
    let config = req
        .extensions()
        .get::<CsrfConfig>()
        .cloned()
        .unwrap_or_default();
    if let Some(value) = req.headers().get(config.header_name()) {
        csrf::check(&session, Some(value.as_bytes()), None, &config).map_err(forbidden)?;
        return Ok(req);
    }
    let form = csrf::is_urlencoded_form(
        req.headers()
            .get(header::CONTENT_TYPE)
            .map(http::HeaderValue::as_bytes),
    );
    if !form {
        return Err(forbidden(CsrfRejection::Missing));
    }
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, config.max_form_bytes())
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "the form body could not be read for its CSRF token");
            StatusCode::PAYLOAD_TOO_LARGE.into_response()
        })?;
    csrf::check(&session, None, Some(&bytes), &config).map_err(forbidden)?;
    Ok(Request::from_parts(parts, Body::from(bytes)))
}
