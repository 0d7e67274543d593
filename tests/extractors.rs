//! The extractors users of tower-sessions and actix-session look for, in both adapters:
//! `TypedSession<T>` (a whole struct as the session) and `?` on the crate's `Error` in a handler
//! (an opaque 413 or 500 with an empty body).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests: a panic is a failed test"
)]

use sealed_session::{Error, KeyRing, Session, TypedSession};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Default)]
struct Visit {
    count: u64,
}

fn visit(typed: &TypedSession<Visit>) -> Result<String, Error> {
    let mut v = typed.get_or_default()?;
    v.count += 1;
    typed.set(&v)?;
    Ok(v.count.to_string())
}

/// Grow the session past its cookie: the error is returned with `?` (after undoing the change,
/// or the response could not be stored and would be a 500).
fn grow(session: &Session) -> Result<String, Error> {
    session.insert("big", &"x".repeat(8000))?;
    session.ensure_fits().inspect_err(|_| {
        session.remove("big");
    })?;
    Ok("ok".into())
}

fn pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_owned()
}

mod axum_adapter {
    use super::*;
    use axum::body::Body;
    use axum::routing::get;
    use axum::Router;
    use http::{header, Request, StatusCode};
    use sealed_session::axum::SessionLayer;
    use tower::ServiceExt;

    fn app() -> Router {
        let layer = SessionLayer::builder(KeyRing::generate())
            .with_cookie_name("s")
            .with_secure(false)
            .build()
            .unwrap();
        Router::new()
            .route(
                "/visit",
                get(|t: TypedSession<Visit>| async move { visit(&t) }),
            )
            .route("/grow", get(|s: Session| async move { grow(&s) }))
            .layer(layer)
    }

    async fn call(
        app: &Router,
        path: &str,
        cookie: Option<&str>,
    ) -> (StatusCode, Option<String>, String) {
        let mut req = Request::get(path);
        if let Some(c) = cookie {
            req = req.header(header::COOKIE, c);
        }
        let res = app
            .clone()
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = res.status();
        let set = res
            .headers()
            .get(header::SET_COOKIE)
            .map(|v| v.to_str().unwrap().to_owned());
        let body = axum::body::to_bytes(res.into_body(), 1 << 16)
            .await
            .unwrap();
        (status, set, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn a_typed_session_counts_across_requests() {
        let app = app();
        let (status, set, body) = call(&app, "/visit", None).await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, "1"));
        let cookie = pair(&set.unwrap());
        let (_, _, body) = call(&app, "/visit", Some(&cookie)).await;
        assert_eq!(body, "2");
    }

    #[tokio::test]
    async fn question_mark_on_a_crate_error_is_an_opaque_413() {
        let (status, set, body) = call(&app(), "/grow", None).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(body, "");
        assert_eq!(set, None, "no broken cookie");
    }
}

mod actix_adapter {
    use super::*;
    use actix_web::http::{header, StatusCode};
    use actix_web::{test, web, App};
    use sealed_session::actix::SessionMiddleware;

    fn middleware() -> SessionMiddleware {
        SessionMiddleware::builder(KeyRing::generate())
            .with_cookie_name("s")
            .with_secure(false)
            .build()
            .unwrap()
    }

    async fn visit_route(t: TypedSession<Visit>) -> Result<String, Error> {
        visit(&t)
    }

    async fn grow_route(s: Session) -> Result<String, Error> {
        grow(&s)
    }

    #[actix_web::test]
    async fn a_typed_session_counts_across_requests_and_errors_are_opaque() {
        let app = test::init_service(
            App::new()
                .wrap(middleware())
                .route("/visit", web::get().to(visit_route))
                .route("/grow", web::get().to(grow_route)),
        )
        .await;
        let res =
            test::call_service(&app, test::TestRequest::get().uri("/visit").to_request()).await;
        let cookie = pair(
            res.headers()
                .get(header::SET_COOKIE)
                .unwrap()
                .to_str()
                .unwrap(),
        );
        assert_eq!(test::read_body(res).await, "1");
        let req = test::TestRequest::get()
            .uri("/visit")
            .insert_header((header::COOKIE, cookie))
            .to_request();
        assert_eq!(test::call_and_read_body(&app, req).await, "2");
        let res =
            test::call_service(&app, test::TestRequest::get().uri("/grow").to_request()).await;
        assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert!(res.headers().get(header::SET_COOKIE).is_none());
        assert!(test::read_body(res).await.is_empty());
    }
}
