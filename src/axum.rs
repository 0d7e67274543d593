//! The axum and tower adapter (feature `axum`): a [`SessionLayer`] for any tower stack and the
//! [`Session`] extractor.
//!
//! The layer only translates types: it awaits [`SessionManager::begin`] with the request's
//! headers before anything else of the request runs (the revocation check, when configured,
//! happens there), puts the [`Session`] in the request's extensions, and hands the response's
//! headers to [`SessionManager::end`] (`Set-Cookie`, `Vary`, `Cache-Control`); an `Err` from it
//! becomes an opaque `500`. The inner service must be `Clone`, as every axum router is.
//!
//! `Router::new().route(..).layer(SessionLayer::builder(ring).build()?)`, then take [`Session`]
//! (or [`TypedSession`]) as a handler argument; the README's "Getting started" has a whole app,
//! and `examples/axum_app.rs` the demo.
//!
//! Errors at the HTTP edge are opaque: a status code and an empty body, with the reason in a
//! `tracing` event. A session that no longer fits in its cookie when the response is built turns
//! the response into a `500` (no broken cookie is sent); handlers that may grow a session should
//! call [`Session::ensure_fits`] and answer with their own error first.

mod csrf;
pub use csrf::{Csrf, CsrfToken};

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Response};
use http::{Request, StatusCode};

use crate::builder::SessionBuilder;
use crate::error::{Error, MissingSession};
use crate::keys::KeyRing;
use crate::manager::SessionManager;
use crate::session::Session;
use crate::typed_session::TypedSession;

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
    S: tower_service::Service<Request<ReqBody>, Response = http::Response<ResBody>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: Default + Send + 'static,
{
    type Response = http::Response<ResBody>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let manager = self.manager.clone();
        if let Some(session) = manager.begin_now(req.headers()) {
            // Nothing to await first: the service that was polled ready is called now.
            req.extensions_mut().insert(session.clone());
            let response = self.inner.call(req);
            return Box::pin(async move {
                let response = response.await?;
                Ok(end(&manager, &session, response).await)
            });
        }
        // The service that was polled ready goes into the future; a clone takes its place.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let session = manager.begin(req.headers()).await;
            req.extensions_mut().insert(session.clone());
            let response = inner.call(req).await?;
            Ok(end(&manager, &session, response).await)
        })
    }
}

/// Step 3 on the inner service's response: an error becomes an opaque 500.
async fn end<B: Default>(
    manager: &SessionManager,
    session: &Session,
    mut response: http::Response<B>,
) -> http::Response<B> {
    if manager.end(session, response.headers_mut()).await.is_err() {
        response = opaque(StatusCode::INTERNAL_SERVER_ERROR);
    }
    response
}

/// A response with only a status: no error text reaches the client.
fn opaque<B: Default>(status: StatusCode) -> http::Response<B> {
    let mut r = http::Response::new(B::default());
    *r.status_mut() = status;
    r
}

/// The rejection of the [`Session`] extractor when the [`SessionLayer`] is missing.
pub type MissingSessionLayer = MissingSession;

impl IntoResponse for MissingSession {
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
            .ok_or(MissingSession)
    }
}

/// A whole struct as the session (see [`TypedSession`]); the same rejection as [`Session`].
impl<S: Send + Sync, T> FromRequestParts<S> for TypedSession<T> {
    type Rejection = MissingSession;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        state: &S,
    ) -> Result<Self, MissingSession> {
        Session::from_request_parts(parts, state)
            .await
            .map(TypedSession::new)
    }
}

/// Map a crate error to an opaque response for handlers (`status only`, reason logged).
///
/// [`ErrorKind::SessionTooLarge`](crate::ErrorKind::SessionTooLarge) becomes `413 Payload Too
/// Large`; anything else `500`. The same as `Error`'s [`IntoResponse`], so that
/// `session.insert(..)?` works in a handler returning `Result<_, sealed_session::Error>`.
pub fn error_response(e: &Error) -> Response {
    tracing::warn!(error = %e, "session error");
    StatusCode::from_u16(e.status_code()).map_or_else(
        |_| StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        IntoResponse::into_response,
    )
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        error_response(&self)
    }
}
