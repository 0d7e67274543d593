//! The axum and tower adapter (feature `axum`): a [`SessionLayer`] for any tower stack and the
//! [`Session`] extractor.
//!
//! The layer does three things per request and nothing else: it hands the request's `Cookie`
//! headers to the [`SessionManager`] (which opens nothing until the handler touches the session),
//! puts the [`Session`] in the request's extensions, and appends the manager's `Set-Cookie`
//! headers to the response.
//!
//! ```no_run
//! use axum::{routing::get, Router};
//! use sealed_session::axum::SessionLayer;
//! use sealed_session::{KeyRing, Session};
//!
//! async fn counter(session: Session) -> String {
//!     let n = session.get::<u64>("n").ok().flatten().unwrap_or(0) + 1;
//!     let _ = session.insert("n", &n);
//!     n.to_string()
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let layer = SessionLayer::builder(KeyRing::generate())
//!     .with_cookie_name("session")
//!     .build()?;
//! let app: Router = Router::new().route("/", get(counter)).layer(layer);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! axum::serve(listener, app).await?;
//! # Ok(())
//! # }
//! ```
//!
//! Errors at the HTTP edge are opaque: a status code and an empty body, with the reason in a
//! `tracing` event. A session that no longer fits in its cookie when the response is built turns
//! the response into a `500` (no broken cookie is sent); handlers that may grow a session should
//! call [`Session::ensure_fits`] and answer with their own error first.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Response};
use http::{header, HeaderValue, Request, StatusCode};

use crate::error::Error;
use crate::http::{SessionBuilder, SessionManager};
use crate::keys::KeyRing;
use crate::session::Session;

/// A tower [`Layer`](tower_layer::Layer) that gives every request a [`Session`].
#[derive(Clone, Debug)]
pub struct SessionLayer {
    manager: SessionManager,
}

impl SessionLayer {
    /// Start configuring: the same `with_*` setters as every adapter (see [`SessionBuilder`]).
    pub fn builder(ring: KeyRing) -> SessionBuilder<SessionLayer> {
        SessionBuilder::new(ring)
    }

    /// A layer over an existing manager (shared with other layers or background code).
    pub fn new(manager: SessionManager) -> Self {
        SessionLayer { manager }
    }

    /// The manager.
    pub fn manager(&self) -> &SessionManager {
        &self.manager
    }
}

impl From<SessionManager> for SessionLayer {
    fn from(manager: SessionManager) -> Self {
        SessionLayer::new(manager)
    }
}

impl<S> tower_layer::Layer<S> for SessionLayer {
    type Service = SessionService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SessionService {
            inner,
            manager: self.manager.clone(),
        }
    }
}

/// The service [`SessionLayer`] wraps around the inner service.
#[derive(Clone)]
pub struct SessionService<S> {
    inner: S,
    manager: SessionManager,
}

impl<S> fmt::Debug for SessionService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionService")
            .field("manager", &self.manager)
            .finish_non_exhaustive()
    }
}

impl<S, ReqBody, ResBody> tower_service::Service<Request<ReqBody>> for SessionService<S>
where
    S: tower_service::Service<Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
    ResBody: Default + Send + 'static,
{
    type Response = http::Response<ResBody>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let session = self.manager.load(req.headers());
        req.extensions_mut().insert(session.clone());
        let manager = self.manager.clone();
        let future = self.inner.call(req);
        Box::pin(async move {
            // The inner future has not been polled yet: the handler runs after the check.
            #[cfg(feature = "redis")]
            manager.check_revocation(&session).await;
            let mut response = future.await?;
            #[cfg(feature = "redis")]
            manager.record_purge(&session).await;
            apply(&manager, &session, &mut response);
            Ok(response)
        })
    }
}

/// Append the session's `Set-Cookie` headers, or turn the response into an opaque 500 when the
/// session cannot be stored.
fn apply<B: Default>(
    manager: &SessionManager,
    session: &Session,
    response: &mut http::Response<B>,
) {
    match manager.finish(session) {
        Ok(cookies) => {
            let headers = response.headers_mut();
            for cookie in cookies {
                match HeaderValue::try_from(cookie) {
                    Ok(v) => {
                        headers.append(header::SET_COOKIE, v);
                    }
                    // Rendering only produces visible ASCII from validated attributes.
                    Err(_) => tracing::error!("a rendered Set-Cookie was not a valid header value"),
                }
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "session could not be stored; answering 500");
            *response = opaque(StatusCode::INTERNAL_SERVER_ERROR);
        }
    }
}

/// A response with only a status: no error text reaches the client.
fn opaque<B: Default>(status: StatusCode) -> http::Response<B> {
    let mut r = http::Response::new(B::default());
    *r.status_mut() = status;
    r
}

/// The rejection of the [`Session`] extractor: the [`SessionLayer`] is missing. An opaque `500`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MissingSessionLayer;

impl fmt::Display for MissingSessionLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the Session extractor needs SessionLayer around the router")
    }
}

impl std::error::Error for MissingSessionLayer {}

impl IntoResponse for MissingSessionLayer {
    fn into_response(self) -> Response {
        tracing::error!("{self}");
        StatusCode::INTERNAL_SERVER_ERROR.into_response()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Session {
    type Rejection = MissingSessionLayer;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Session>()
            .cloned()
            .ok_or(MissingSessionLayer)
    }
}

/// Map a crate error to an opaque response for handlers (`status only`, reason logged).
///
/// [`ErrorKind::SessionTooLarge`](crate::ErrorKind::SessionTooLarge) becomes `413 Payload Too
/// Large`; anything else `500`.
pub fn error_response(e: &Error) -> Response {
    tracing::warn!(error = %e, "session error");
    match e.kind() {
        crate::ErrorKind::SessionTooLarge => StatusCode::PAYLOAD_TOO_LARGE.into_response(),
        _ => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
