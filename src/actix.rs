//! The actix-web adapter (feature `actix`): [`SessionMiddleware`], the [`Session`] extractor and
//! [`SessionExt`] to reach the session from an `HttpRequest` or `ServiceRequest`.
//!
//! The middleware mirrors the axum layer: it hands the request's `Cookie` headers to the
//! [`SessionManager`] (nothing is opened until the handler touches the session), puts the
//! [`Session`] in the request's extensions, and appends the manager's `Set-Cookie` headers to the
//! response. Configuration uses the same [`SessionBuilder`] and `with_*` names as the axum
//! adapter, so moving between frameworks changes one import.
//!
//! actix-web 4 depends on an older `cookie` crate and `http` 0.2. This adapter uses neither: the
//! core renders each `Set-Cookie` value itself (with `cookie` 0.18) and the middleware appends it as
//! a raw header, so every attribute we support, `SameSite=None` with `Secure` and `Partitioned`
//! included, reaches the response unchanged; nothing has to be expressible in actix's own cookie
//! type.
//!
//! ```no_run
//! use actix_web::{web, App, HttpServer};
//! use sealed_session::actix::SessionMiddleware;
//! use sealed_session::{KeyRing, Session};
//!
//! async fn counter(session: Session) -> String {
//!     let n = session.get::<u64>("n").ok().flatten().unwrap_or(0) + 1;
//!     let _ = session.insert("n", &n);
//!     n.to_string()
//! }
//!
//! # async fn run() -> std::io::Result<()> {
//! let middleware = SessionMiddleware::builder(KeyRing::generate())
//!     .with_cookie_name("session")
//!     .build()
//!     .expect("valid configuration");
//! HttpServer::new(move || {
//!     App::new()
//!         .wrap(middleware.clone())
//!         .route("/", web::get().to(counter))
//! })
//! .bind(("127.0.0.1", 3000))?
//! .run()
//! .await
//! # }
//! ```
//!
//! Errors at the HTTP edge are opaque: a status code and an empty body, with the reason in a
//! `tracing` event.

use std::fmt;
use std::future::{ready, Future, Ready};
use std::pin::Pin;
use std::rc::Rc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::header::{HeaderValue, COOKIE, SET_COOKIE};
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};

use crate::http::{SessionBuilder, SessionManager};
use crate::keys::KeyRing;
use crate::session::Session;

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
pub struct SessionService<S> {
    service: Rc<S>,
    manager: SessionManager,
}

impl<S> fmt::Debug for SessionService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionService")
            .field("manager", &self.manager)
            .finish_non_exhaustive()
    }
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
        let session = self.manager.load_from_cookie_headers(
            req.headers()
                .get_all(COOKIE)
                .map(|v: &HeaderValue| v.as_bytes()),
        );
        req.extensions_mut().insert(session.clone());
        let manager = self.manager.clone();
        let service = Rc::clone(&self.service);
        Box::pin(async move {
            #[cfg(feature = "redis")]
            manager.check_revocation(&session).await;
            let mut response = service.call(req).await?;
            #[cfg(feature = "redis")]
            manager.record_purge(&session).await;
            match manager.finish(&session) {
                Ok(cookies) => {
                    let headers = response.headers_mut();
                    for cookie in cookies {
                        match HeaderValue::try_from(cookie) {
                            Ok(v) => headers.append(SET_COOKIE, v),
                            Err(_) => {
                                tracing::error!(
                                    "a rendered Set-Cookie was not a valid header value"
                                );
                            }
                        }
                    }
                    Ok(response.map_into_left_body())
                }
                Err(e) => {
                    tracing::error!(error = %e, "session could not be stored; answering 500");
                    let (request, _) = response.into_parts();
                    let opaque = HttpResponse::InternalServerError().finish();
                    Ok(ServiceResponse::new(request, opaque).map_into_right_body())
                }
            }
        })
    }
}

/// The rejection of the [`Session`] extractor: the [`SessionMiddleware`] is missing. An opaque
/// `500`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MissingSessionMiddleware;

impl fmt::Display for MissingSessionMiddleware {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the Session extractor needs SessionMiddleware around the app")
    }
}

impl std::error::Error for MissingSessionMiddleware {}

impl ResponseError for MissingSessionMiddleware {
    fn error_response(&self) -> HttpResponse {
        tracing::error!("{self}");
        HttpResponse::InternalServerError().finish()
    }
}

impl FromRequest for Session {
    type Error = MissingSessionMiddleware;
    type Future = Ready<Result<Session, MissingSessionMiddleware>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(req.session().ok_or(MissingSessionMiddleware))
    }
}

/// Reach the session from an `HttpRequest` or a `ServiceRequest` (in other middleware).
pub trait SessionExt {
    /// The request's session, if [`SessionMiddleware`] is installed.
    fn session(&self) -> Option<Session>;
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
