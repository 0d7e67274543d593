//! CSRF tokens in actix-web: [`CsrfToken`] issues one for the request's session, [`Csrf`]
//! checks one before the extractor it wraps runs.
//!
//! On an unsafe method (anything but GET, HEAD, OPTIONS and TRACE), [`Csrf`] reads the token
//! from the `X-CSRF-Token` header or, when there is none and the body is a urlencoded form, from
//! its `csrf_token` field; it buffers that body (up to [`CsrfConfig::max_form_bytes`], `413`
//! beyond) and hands the same bytes to the wrapped extractor, so the handler still reads its
//! form. A refused token is an opaque `403` with an empty body; the
//! [`CsrfRejection`](crate::csrf::CsrfRejection) is logged. Register a [`CsrfConfig`] with
//! `App::app_data(config)` to change the header, the field or the limit.
//!
//! ```no_run
//! use actix_web::{web, App, HttpResponse};
//! use sealed_session::actix::{Csrf, CsrfToken, SessionMiddleware};
//! use sealed_session::{KeyRing, Session};
//!
//! #[derive(serde::Deserialize)]
//! struct Login { user: String }
//!
//! async fn token(CsrfToken(token): CsrfToken) -> HttpResponse {
//!     HttpResponse::Ok().json(serde_json::json!({ "csrf_token": token }))
//! }
//!
//! // The form (with its `csrf_token` field, or the header) is checked before `Form` reads it.
//! async fn login(session: Session, Csrf(form): Csrf<web::Form<Login>>) -> HttpResponse {
//!     let _ = session.insert("user", &form.user);
//!     session.renew();
//!     HttpResponse::Ok().finish()
//! }
//!
//! # fn app() -> Result<(), sealed_session::Error> {
//! let middleware = SessionMiddleware::builder(KeyRing::generate()).build()?;
//! let _app = App::new()
//!     .wrap(middleware)
//!     .route("/api/csrf", web::get().to(token))
//!     .route("/api/login", web::post().to(login));
//! # Ok(()) }
//! ```

use std::future::Future;
use std::pin::Pin;

use actix_web::body::{to_bytes_limited, BodyStream};
use actix_web::dev::Payload;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::web::Bytes;
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError};

use crate::actix::SessionExt as _;
use crate::csrf::{self, CsrfConfig, CsrfRejection};
use crate::error::MissingSession;

/// A CSRF token for the request's session (which is given a lineage, and so a cookie, if it had
/// none). Its error is an opaque `500`: the session middleware is missing or sealing failed.
#[derive(Clone, Debug)]
pub struct CsrfToken(pub String);

impl FromRequest for CsrfToken {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<CsrfToken, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(match req.session() {
            None => Err(MissingSession.into()),
            Some(session) => csrf::token_for(&session)
                .map(CsrfToken)
                .map_err(actix_web::Error::from),
        })
    }
}

/// Checks the request's CSRF token on unsafe methods, then runs the extractor `T` (`Csrf<()>`
/// for a handler that reads no body, `Csrf<web::Form<T>>`, `Csrf<web::Json<T>>`,
/// `Csrf<web::Bytes>`...).
#[derive(Clone, Copy, Debug)]
pub struct Csrf<T>(pub T);

/// The error of a refused request: an opaque `403` (or `413` for a form too large to search).
#[derive(Debug)]
struct Refused(actix_web::http::StatusCode);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "csrf check refused the request ({})", self.0)
    }
}

impl ResponseError for Refused {
    fn status_code(&self) -> actix_web::http::StatusCode {
        self.0
    }
    fn error_response(&self) -> HttpResponse {
        HttpResponse::new(self.0)
    }
}

fn forbidden(reason: CsrfRejection) -> actix_web::Error {
    tracing::warn!(%reason, "refused a request without a valid CSRF token");
    Refused(actix_web::http::StatusCode::FORBIDDEN).into()
}

impl<T> FromRequest for Csrf<T>
where
    T: FromRequest + 'static,
{
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            if csrf::is_unsafe_method(req.method().as_str()) {
                if let Some(body) = checked(&req, &mut payload).await? {
                    payload = Payload::from(body);
                }
            }
            T::from_request(&req, &mut payload)
                .await
                .map(Csrf)
                .map_err(Into::into)
        })
    }
}

/// Verify the request's token. `Some(body)` when the form was read to find it: the wrapped
/// extractor gets those bytes; `None` when the header carried it and `payload` is untouched.
async fn checked(
    req: &HttpRequest,
    payload: &mut Payload,
) -> Result<Option<Bytes>, actix_web::Error> {
    let Some(session) = req.session() else {
        return Err(MissingSession.into());
    };
    let config = req.app_data::<CsrfConfig>().cloned().unwrap_or_default();
    if let Some(value) = req.headers().get(config.header_name()) {
        csrf::check(&session, Some(value.as_bytes()), None, &config).map_err(forbidden)?;
        return Ok(None);
    }
    if !csrf::is_urlencoded_form(req.headers().get(CONTENT_TYPE).map(|v| v.as_bytes())) {
        return Err(forbidden(CsrfRejection::Missing));
    }
    let bytes = read(payload.take(), config.max_form_bytes()).await?;
    csrf::check(&session, None, Some(&bytes), &config).map_err(forbidden)?;
    Ok(Some(bytes))
}

async fn read(payload: Payload, limit: usize) -> Result<Bytes, actix_web::Error> {
    match to_bytes_limited(BodyStream::new(payload), limit).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "the form body could not be read for its CSRF token");
            Err(Refused(actix_web::http::StatusCode::BAD_REQUEST).into())
        }
        Err(_) => {
            tracing::warn!("the form body is too large to search for its CSRF token");
            Err(Refused(actix_web::http::StatusCode::PAYLOAD_TOO_LARGE).into())
        }
    }
}
