//! The actix-web adapter (feature `actix`): [`SessionMiddleware`], the [`Session`] extractor and
//! [`SessionExt`] to reach the session from an `HttpRequest` or `ServiceRequest`.
//!
//! The middleware mirrors the axum layer and only translates types: it awaits
//! [`SessionManager::begin`] with the request's `Cookie` headers before the rest of the request
//! runs, puts the [`Session`] in the request's extensions, and hands the response's headers to
//! [`SessionManager::end`] (`Set-Cookie`, `Vary`, `Cache-Control`); an `Err` from it becomes an
//! opaque `500`. Configuration uses the same [`SessionBuilder`] and `with_*` names as the axum
//! adapter, so moving between frameworks changes one import.
//!
//! actix-web 4 is on an older `cookie` crate and `http` 0.2; the core renders each header value
//! itself, so every attribute (`SameSite=None`, `Partitioned`) reaches the response unchanged.
//!
//! `App::new().wrap(SessionMiddleware::builder(ring).build()?)`, then take [`Session`] as a
//! handler argument; the README's "Getting started" has a whole app, and
//! `examples/actix_app.rs` the demo.
//!
//! Errors at the HTTP edge are opaque: a status code and an empty body, with the reason in a
//! `tracing` event.

mod csrf;
mod headers;
pub use csrf::{Csrf, CsrfToken};

use std::future::{ready, Future, Ready};
use std::pin::Pin;
use std::rc::Rc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::header::{HeaderValue, COOKIE};
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};

use crate::builder::SessionBuilder;
use crate::error::{Error, MissingSession};
use crate::keys::KeyRing;
use crate::manager::SessionManager;
use crate::session::Session;
use crate::typed_session::TypedSession;

/// actix-web middleware that gives every request a [`Session`].
#[derive(Clone, Debug)]
pub struct SessionMiddleware {
    manager: SessionManager,
}

impl SessionMiddleware {
    /// Start configuring: the same `with_*` setters as every adapter (see [`SessionBuilder`]).
    pub fn builder(ring: KeyRing) -> SessionBuilder<SessionMiddleware> {
        SessionBuilder::new(ring)
    }

    /// Middleware over an existing manager.
    pub fn new(manager: SessionManager) -> Self {
        SessionMiddleware { manager }
    }

    /// The manager.
    pub fn manager(&self) -> &SessionManager {
        &self.manager
    }
}

impl From<SessionManager> for SessionMiddleware {
    fn from(manager: SessionManager) -> Self {
        SessionMiddleware::new(manager)
    }
}

impl<S, B> Transform<S, ServiceRequest> for SessionMiddleware
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Transform = SessionService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(SessionService {
            service: Rc::new(service),
            manager: self.manager.clone(),
        }))
    }
}

/// The service [`SessionMiddleware`] wraps around the inner service.
#[derive(Debug)]
pub struct SessionService<S> {
    service: Rc<S>,
    manager: SessionManager,
}

impl<S, B> Service<ServiceRequest> for SessionService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>>>>;

    actix_web::dev::forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let manager = self.manager.clone();
        let service = Rc::clone(&self.service);
        Box::pin(async move {
            let cookies = req.headers().get_all(COOKIE).map(HeaderValue::as_bytes);
            let session = manager.begin_from_cookie_headers(cookies).await;
            req.extensions_mut().insert(session.clone());
            let mut response = service.call(req).await?;
            match manager.end(&session, response.headers_mut()).await {
                Ok(()) => Ok(response.map_into_left_body()),
                Err(_) => {
                    let (request, _) = response.into_parts();
                    let opaque = HttpResponse::InternalServerError().finish();
                    Ok(ServiceResponse::new(request, opaque).map_into_right_body())
                }
            }
        })
    }
}

/// `session.insert(..)?` in a handler returning `Result<_, sealed_session::Error>`: an opaque
/// `413` ([`ErrorKind::SessionTooLarge`](crate::ErrorKind::SessionTooLarge)) or `500`, with an
/// empty body; the error is logged.
impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(Error::status_code(self)).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        tracing::warn!(error = %self, "session error");
        HttpResponse::new(ResponseError::status_code(self))
    }
}

/// The rejection of the [`Session`] extractor when the [`SessionMiddleware`] is missing.
pub type MissingSessionMiddleware = MissingSession;

impl ResponseError for MissingSession {
    fn error_response(&self) -> HttpResponse {
        tracing::error!("{self}");
        HttpResponse::InternalServerError().finish()
    }
}

impl FromRequest for Session {
    type Error = MissingSessionMiddleware;
    type Future = Ready<Result<Session, MissingSessionMiddleware>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(req.session().ok_or(MissingSession))
    }
}

/// A whole struct as the session (see [`TypedSession`]); the same rejection as [`Session`].
impl<T> FromRequest for TypedSession<T> {
    type Error = MissingSession;
    type Future = Ready<Result<Self, MissingSession>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(req.session().map(TypedSession::new).ok_or(MissingSession))
    }
}

/// Reach the session from an `HttpRequest` or a `ServiceRequest` (in other middleware).
pub trait SessionExt {
    /// The request's session, if [`SessionMiddleware`] is installed.
    fn session(&self) -> Option<Session>;

    /// The request's session, as actix-session's `get_session` gives it. Without
    /// [`SessionMiddleware`] this is a detached, empty session whose writes go nowhere (and an
    /// error is logged): prefer [`session`](Self::session) or the [`Session`] extractor, which
    /// say so.
    fn get_session(&self) -> Session {
        self.session().unwrap_or_else(|| {
            tracing::error!("{}", MissingSession);
            Session::new()
        })
    }
}

impl SessionExt for HttpRequest {
    fn session(&self) -> Option<Session> {
        self.extensions().get::<Session>().cloned()
    }
}

impl SessionExt for ServiceRequest {
    fn session(&self) -> Option<Session> {
        self.extensions().get::<Session>().cloned()
    }
}
