//! The revocation suite, run against every store: [`MemoryRevocations`] (`tests/revocation.rs`)
//! and Redis (`tests/redis.rs`). Two axum app instances share one store (two connections to it,
//! for Redis) and one key ring, as two nodes of a deployment would.
//!
//! ```text
//! #[path = "common/revocation_suite.rs"]
//! mod revocation_suite;
//! async fn setup() -> Option<revocation_suite::Setup> { ... }
//! revocation_suite!(setup);
//! ```
//!
//! [`MemoryRevocations`]: sealed_session::revocation::MemoryRevocations

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    dead_code,
    reason = "test helpers: a panic is a failed test"
)]

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::extract::{Query, Request, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use http::{header, HeaderMap, HeaderValue};
use sealed_session::axum::SessionLayer;
use sealed_session::revocation::{FailurePolicy, Revocation, RevocationStore};
use sealed_session::{KeyRing, Session, SessionManager};
use serde::Deserialize;

/// A boxed future of a store (one per app instance: its own connection).
pub type StoreFuture = Pin<Box<dyn Future<Output = Arc<dyn RevocationStore>> + Send>>;

/// What a store's test file provides: something to keep alive (a server), and a way to open
/// the shared store once per app instance.
pub struct Setup {
    /// Dropped at the end of the case (a Redis server process, for example).
    pub guard: Box<dyn Any + Send>,
    /// Opens the shared store; called once per app instance.
    pub store: Box<dyn Fn() -> StoreFuture + Send + Sync>,
}

/// One test per case, each calling `$setup` (an `async fn() -> Option<Setup>`; `None` skips,
/// which the store's file reports loudly or turns into a failure).
#[macro_export]
macro_rules! revocation_suite {
    ($setup:path) => {
        $crate::revocation_suite!(
            @cases $setup;
            a_purge_or_a_revoke_on_one_instance_ends_the_session_on_the_other,
            log_out_everywhere_ends_every_session_of_the_user_and_no_other,
            a_copy_taken_before_login_is_refused_after_logout,
            a_renew_then_purge_in_one_request_is_recorded,
            inner_layers_never_see_a_revoked_session,
        );
    };
    (@cases $setup:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let Some(setup) = $setup().await else { return };
                $crate::revocation_suite::$case(&setup).await;
            }
        )*
    };
}

const COOKIE: &str = "s";

#[derive(Deserialize)]
struct Who {
    user: String,
}

async fn login(
    State(manager): State<SessionManager>,
    session: Session,
    Query(who): Query<Who>,
) -> String {
    session.renew();
    session.insert("user", &who.user).unwrap();
    match manager.bind_user(&session, &who.user).await {
        Ok(()) => "ok".into(),
        Err(e) => format!("error: {e}"),
    }
}

async fn counter(session: Session) -> String {
    let n = session.get::<u64>("n").unwrap().unwrap_or(0) + 1;
    session.insert("n", &n).unwrap();
    n.to_string()
}

async fn me(session: Session) -> String {
    session
        .get::<String>("user")
        .unwrap()
        .unwrap_or_else(|| "-".into())
}

async fn logout(session: Session) -> &'static str {
    session.purge();
    "bye"
}

async fn renew_and_logout(session: Session) -> &'static str {
    session.renew();
    session.purge();
    "bye"
}

async fn everywhere(State(manager): State<SessionManager>, Query(who): Query<Who>) -> String {
    match manager.log_out_everywhere(&who.user).await {
        Ok(()) => "ok".into(),
        Err(e) => format!("error: {e}"),
    }
}

async fn revoke_me(State(manager): State<SessionManager>, session: Session) -> String {
    let id = session.id().unwrap();
    match manager.revoke(id).await {
        Ok(()) => "ok".into(),
        Err(e) => format!("error: {e}"),
    }
}

/// A tower service inside the session layer that reads the session in `call` itself, before
/// any future is polled (as some middleware does), and reports what it saw in `x-inner-user`.
/// When the adapter called the inner service before checking revocation, this read saw the
/// revoked session's data.
#[derive(Clone)]
struct ReadInCall<S>(S);

impl<S> tower::Service<Request> for ReadInCall<S>
where
    S: tower::Service<Request, Response = Response> + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let seen = request
            .extensions()
            .get::<Session>()
            .and_then(|s| s.get::<String>("user").ok().flatten())
            .unwrap_or_else(|| "-".into());
        let future = self.0.call(request);
        Box::pin(async move {
            let mut response = future.await?;
            if let Ok(v) = HeaderValue::from_str(&seen) {
                response.headers_mut().insert("x-inner-user", v);
            }
            Ok(response)
        })
    }
}

/// One app instance: its own connection to the shared store, the shared key ring.
pub struct App {
    base: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for App {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// An instance over `store` with `policy`.
pub async fn app(store: Arc<dyn RevocationStore>, ring: &KeyRing, policy: FailurePolicy) -> App {
    let manager = SessionManager::builder(ring.clone())
        .with_cookie_name(COOKIE)
        .with_secure(false)
        .with_revocation(Revocation::from_arc(store).with_policy(policy))
        .build()
        .unwrap();
    let router = Router::new()
        .route("/login", post(login))
        .route("/counter", get(counter))
        .route("/me", get(me))
        .route("/logout", post(logout))
        .route("/renew-and-logout", post(renew_and_logout))
        .route("/everywhere", post(everywhere))
        .route("/revoke-me", post(revoke_me))
        .with_state(manager.clone());
    // The session layer directly around the reading service, which wraps the whole router: a
    // router defers calling its routes' layers into its own future, which would hide the order.
    let service = tower::Layer::layer(&SessionLayer::new(manager), ReadInCall(router));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        axum::serve(
            listener,
            axum::ServiceExt::<Request>::into_make_service(service),
        )
        .await
        .unwrap();
    });
    App { base, task }
}

async fn two_apps(setup: &Setup) -> (App, App) {
    let ring = KeyRing::generate();
    let a = app((setup.store)().await, &ring, FailurePolicy::FailClosed).await;
    let b = app((setup.store)().await, &ring, FailurePolicy::FailClosed).await;
    (a, b)
}

/// A response: its body, its `Set-Cookie` for our cookie (value, or "" when deleted), and the
/// `x-inner-user` header.
pub struct Answer {
    pub body: String,
    pub set: Option<String>,
    pub inner: Option<String>,
}

/// `method url` with our cookie set to `cookie`.
pub async fn call(method: &str, url: String, cookie: Option<&str>) -> Answer {
    let client = reqwest::Client::new();
    let mut req = match method {
        "POST" => client.post(url),
        _ => client.get(url),
    };
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, format!("{COOKIE}={c}"));
    }
    let res = req.send().await.unwrap();
    let set = set_cookie(res.headers());
    let inner = res
        .headers()
        .get("x-inner-user")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    Answer {
        body: res.text().await.unwrap(),
        set,
        inner,
    }
}

fn set_cookie(headers: &HeaderMap) -> Option<String> {
    headers.get_all(header::SET_COOKIE).iter().find_map(|v| {
        let v = v.to_str().ok()?;
        let pair = v.split(';').next()?;
        let value = pair.strip_prefix(&format!("{COOKIE}="))?;
        Some(if v.contains("Max-Age=0") {
            String::new()
        } else {
            value.to_owned()
        })
    })
}

/// Log in on `app` (optionally from an existing session) and return the new cookie.
pub async fn log_in(app: &App, user: &str, from: Option<&str>) -> String {
    let a = call("POST", format!("{}/login?user={user}", app.base), from).await;
    assert_eq!(a.body, "ok");
    a.set.filter(|c| !c.is_empty()).expect("a session cookie")
}

/// `GET /me` on `app` with `cookie`: the user it sees.
pub async fn me_on(app: &App, cookie: &str) -> Answer {
    call("GET", format!("{}/me", app.base), Some(cookie)).await
}

pub async fn a_purge_or_a_revoke_on_one_instance_ends_the_session_on_the_other(setup: &Setup) {
    let (a, b) = two_apps(setup).await;
    let cookie = log_in(&a, "ann", None).await;
    assert_eq!(me_on(&b, &cookie).await.body, "ann");
    let answer = call("POST", format!("{}/logout", a.base), Some(&cookie)).await;
    assert_eq!(answer.set.as_deref(), Some(""), "A deletes the cookie");
    // The browser forgot it; a copy replayed on B (or A) is a fresh session, and deleted.
    for app in [&b, &a] {
        let answer = me_on(app, &cookie).await;
        assert_eq!(answer.body, "-");
        assert_eq!(answer.set.as_deref(), Some(""));
    }
    let cookie = log_in(&a, "bob", None).await;
    let answer = call("POST", format!("{}/revoke-me", b.base), Some(&cookie)).await;
    assert_eq!(answer.body, "ok");
    assert_eq!(me_on(&a, &cookie).await.body, "-");
}

pub async fn log_out_everywhere_ends_every_session_of_the_user_and_no_other(setup: &Setup) {
    let (a, b) = two_apps(setup).await;
    let laptop = log_in(&a, "ann", None).await;
    let phone = log_in(&b, "ann", None).await;
    let other = log_in(&a, "cat", None).await;
    let answer = call("POST", format!("{}/everywhere?user=ann", b.base), None).await;
    assert_eq!(answer.body, "ok");
    for (app, cookie) in [(&a, &laptop), (&b, &laptop), (&a, &phone), (&b, &phone)] {
        assert_eq!(me_on(app, cookie).await.body, "-");
    }
    assert_eq!(me_on(&b, &other).await.body, "cat");
    // A login after the call is bound to the new generation.
    let again = log_in(&a, "ann", None).await;
    assert_eq!(me_on(&b, &again).await.body, "ann");
}

/// Copy the cookie, log in (renew), log out: the copy is refused on every instance.
pub async fn a_copy_taken_before_login_is_refused_after_logout(setup: &Setup) {
    let (a, b) = two_apps(setup).await;
    let anonymous = call("GET", format!("{}/counter", a.base), None).await;
    let copy = anonymous.set.expect("an anonymous session");
    let logged_in = log_in(&a, "ann", Some(&copy)).await;
    assert_eq!(me_on(&b, &logged_in).await.body, "ann");
    let answer = call("POST", format!("{}/logout", b.base), Some(&logged_in)).await;
    assert_eq!(answer.set.as_deref(), Some(""));
    for app in [&a, &b] {
        let answer = call("GET", format!("{}/counter", app.base), Some(&copy)).await;
        assert_eq!(answer.body, "1", "the copy is a fresh session");
        assert_ne!(answer.set.as_deref(), Some(copy.as_str()));
    }
}

/// `renew()` then `purge()` in one request still revokes the session the request came with.
pub async fn a_renew_then_purge_in_one_request_is_recorded(setup: &Setup) {
    let (a, b) = two_apps(setup).await;
    let cookie = log_in(&a, "ann", None).await;
    let answer = call(
        "POST",
        format!("{}/renew-and-logout", a.base),
        Some(&cookie),
    )
    .await;
    assert_eq!(answer.body, "bye");
    assert_eq!(me_on(&b, &cookie).await.body, "-");
}

/// A service between the session layer and the handler reads the session synchronously in its
/// `call`: it must see the fresh session of a revoked cookie, never the revoked data.
pub async fn inner_layers_never_see_a_revoked_session(setup: &Setup) {
    let (a, b) = two_apps(setup).await;
    let cookie = log_in(&a, "ann", None).await;
    let answer = me_on(&b, &cookie).await;
    assert_eq!(answer.inner.as_deref(), Some("ann"));
    call("POST", format!("{}/logout", a.base), Some(&cookie)).await;
    let answer = me_on(&b, &cookie).await;
    assert_eq!(
        answer.inner.as_deref(),
        Some("-"),
        "the inner layer saw revoked data"
    );
    assert_eq!(answer.body, "-");
}
