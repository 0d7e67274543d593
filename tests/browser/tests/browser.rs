//! End-to-end tests of the example app (`examples/axum_app.rs`) in a real browser: headless
//! Chromium driven over WebDriver (issue 9). Non-browser clients ignore half of what cookie
//! attributes mean; these scenarios check what a browser does with them.
//!
//! The app runs in-process (`axum::serve` on 127.0.0.1, a recorder in front of it noting the
//! `Cookie` header of every request) with the demo's production settings (`demo::configure(_,
//! true)`: `__Host-session`, Secure, HttpOnly, SameSite=Lax, Path=/). Chromium accepts Secure
//! cookies over plain http on 127.0.0.1 and localhost (they are "potentially trustworthy"), which
//! is why no TLS is needed; `secure_cookie_needs_a_trustworthy_origin` pins that down. The browser
//! treats `localhost` and `127.0.0.1` as two different sites, which the cross-site scenarios use.
//!
//! Scenarios (one test each, run one at a time, each with its own chromedriver and a fresh
//! Chromium profile):
//! - `login_counter_logout_with_screenshot`: the HTML login form, the counter across page loads,
//!   the logout form; cookies are per host; a screenshot of the logged-in page is saved to
//!   `target/browser-artifacts/logged-in.png`.
//! - `session_cookie_is_invisible_to_page_scripts`: HttpOnly.
//! - `cookie_path_keeps_session_off_other_paths`: a cookie with `Path=/api` is not sent to `/`.
//! - `same_site_strict_withholds_cross_site_navigation`, `same_site_lax_sends_cross_site_navigation`:
//!   a link on `localhost` to the app on `127.0.0.1`, and an image and an iframe from it.
//! - `key_rotation_reseals_then_retired_key_gives_fresh_session`: restarts on the same port.
//! - `oversized_session_is_refused_and_kept`: the documented `413 {"error":"session_too_large"}`.
//! - `secure_cookie_needs_a_trustworthy_origin`: Secure works on loopback http, not on other http
//!   hosts.
//! - `csrf_form_with_and_without_token`: the login form with its hidden `csrf_token` field logs
//!   in (and shows a flash message once); the same form with the field removed is refused (403).
//!
//! Needs Debian's `chromium` and `chromium-driver` (`scripts/install-browser.sh` installs them).
//! Without them every test prints `SKIPPED: chromium not installed…` to stderr and passes, unless
//! `SEALED_TEST_REQUIRE_BROWSER=1` is set, which makes a missing browser a failure (CI).
//!
//! Run with `cargo test -p sealed-session-browser-tests` (add `-- --nocapture` to see timings);
//! `scripts/test.sh` runs it with the rest. This crate (`tests/browser/`) is a workspace member of
//! its own so that its WebDriver client is not compiled with every example of sealed-session.

// clippy.toml's `allow-*-in-tests` covers `#[test]` functions only, not the helpers and scenario
// bodies they use; here a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers: a panic is a failed test"
)]

#[path = "browser/driver.rs"]
mod driver;
#[path = "browser/page.rs"]
mod page;
#[path = "browser/servers.rs"]
mod servers;

#[path = "../../../examples/axum_app.rs"]
#[allow(dead_code, reason = "only `router` is used; `main` is the example's")]
mod app;

// The example's own `demo` module is private to it, so the test loads the file a second time to
// call `demo::configure` itself (the same settings the example's `main` uses).
#[path = "../../../examples/support/demo.rs"]
#[allow(
    clippy::duplicate_mod,
    reason = "app::demo is private; this copy only provides `configure`"
)]
mod demo;

use std::net::SocketAddr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use fantoccini::Client;
use sealed_session::axum::SessionLayer;
use sealed_session::{Key, KeyId, KeyRing, SameSite, SessionBuilder};
use serde_json::{json, Value};

use page::{
    body_text, click_and_wait, cookie, cookie_value, eval, eval_async, goto, login, page_json,
    shown_count, shown_user, status, submit_login, text_of, url,
};
use servers::{any_port, Running};

/// The demo's cookie name with `secure = true`.
const COOKIE: &str = "__Host-session";
/// What the demo page shows without a user.
const SIGNED_OUT: &str = "Not signed in.";
/// The PNG file signature.
const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// The demo's production session settings over `ring`, adjusted by `adjust`.
fn layer(
    ring: KeyRing,
    adjust: impl FnOnce(SessionBuilder<SessionLayer>) -> SessionBuilder<SessionLayer>,
) -> SessionLayer {
    adjust(demo::configure(SessionLayer::builder(ring), true))
        .build()
        .expect("the demo's session layer")
}

/// The example app under `layer`, on `addr`.
async fn start_app(layer: SessionLayer, addr: SocketAddr) -> Running {
    servers::serve(app::router(layer), addr).await
}

/// The key id a token was sealed under: base64url without padding; byte 0 is the version, bytes
/// 1..5 the key id, big-endian.
fn key_id_of(token: &str) -> u32 {
    let bytes = URL_SAFE_NO_PAD
        .decode(token)
        .unwrap_or_else(|e| panic!("token {token:?} is not base64url: {e}"));
    u32::from_be_bytes(bytes[1..5].try_into().expect("four bytes"))
}

/// A generated key under an explicit id.
fn key_with_id(id: u32) -> Key {
    Key::generate().with_id(KeyId::new(id))
}

/// Navigate to `path` on `app` and return the JSON the browser shows, checking the status.
async fn json_at(c: &Client, app: &Running, path: &str, expected_status: u16) -> Value {
    goto(c, &app.url(path)).await;
    let shown = page_json(c).await;
    assert_eq!(
        status(c).await,
        expected_status,
        "status of {path}, which shows {shown}"
    );
    shown
}

/// `/api/me` as the browser sees it: `(user, count, session_id)`.
async fn me(c: &Client, app: &Running) -> (Value, u64, Value) {
    let shown = json_at(c, app, "/api/me", 200).await;
    let count = shown["count"]
        .as_u64()
        .unwrap_or_else(|| panic!("/api/me: no count in {shown}"));
    (shown["user"].clone(), count, shown["session_id"].clone())
}

// ---------------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_counter_logout_with_screenshot() {
    driver::run("login_counter_logout_with_screenshot", |c| async move {
        let app = start_app(layer(KeyRing::generate(), |b| b), any_port()).await;

        goto(&c, &app.url("/")).await;
        assert_eq!(shown_user(&c).await, SIGNED_OUT);
        assert_eq!(shown_count(&c).await, 0);
        // The page's forms carry a CSRF token, which starts a session to bind to.
        let anonymous = cookie_value(&c, COOKIE).await;

        // The form posts to /api/login; the browser follows the 303 back to `/`.
        login(&c, &app.url("/"), "ann").await;
        assert_eq!(url(&c).await, app.url("/"), "the 303 leads back to /");
        let post = app.recorder.only("/api/login");
        assert_eq!(post.method, "POST", "{post:?}");
        assert!(post.has_cookie(COOKIE), "{post:?}");
        assert_ne!(
            cookie_value(&c, COOKIE).await,
            anonymous,
            "login renews the cookie"
        );
        assert_eq!(shown_count(&c).await, 0);
        assert_eq!(text_of(&c, "#flash-info").await, "Signed in as ann.");
        let shot = page::save_screenshot(&c, "logged-in.png").await;
        let png = std::fs::read(&shot).expect("the screenshot file");
        assert!(
            png.starts_with(PNG_SIGNATURE) && png.len() > 1000,
            "{} is not a PNG ({} bytes)",
            shot.display(),
            png.len()
        );
        eprintln!("screenshot of the logged-in page: {}", shot.display());

        // The counter grows across page loads: follow the page's "increment" link, come back.
        for n in 1..=3u64 {
            click_and_wait(&c, "a[href='/api/counter']").await;
            assert_eq!(url(&c).await, app.url("/api/counter"));
            assert_eq!(page_json(&c).await, json!({ "count": n }));
            goto(&c, &app.url("/")).await;
            assert_eq!(shown_count(&c).await, n, "the page after {n} increments");
        }
        assert_eq!(shown_user(&c).await, "ann");
        assert_eq!(shown_count(&c).await, 3);
        c.refresh().await.expect("reload");
        assert_eq!(shown_count(&c).await, 3, "a reload changes nothing");

        // Cookies are per host: the same server reached as `localhost` is another site with its
        // own (so far empty) session, and signing in there leaves 127.0.0.1's alone.
        goto(&c, &app.localhost_url("/")).await;
        assert_eq!(shown_user(&c).await, SIGNED_OUT, "localhost has no session");
        login(&c, &app.localhost_url("/"), "bob").await;
        goto(&c, &app.url("/")).await;
        assert_eq!(shown_user(&c).await, "ann");
        assert_eq!(shown_count(&c).await, 3);

        // The logout form ends the session; the browser then holds only a new session, which
        // carries the logout's flash message.
        let logged_in = cookie_value(&c, COOKIE).await;
        click_and_wait(&c, "#logout").await;
        assert_eq!(url(&c).await, app.url("/"));
        assert_eq!(shown_user(&c).await, SIGNED_OUT);
        assert_eq!(shown_count(&c).await, 0);
        assert_eq!(text_of(&c, "#flash-info").await, "Signed out.");
        assert_ne!(
            cookie_value(&c, COOKIE).await,
            logged_in,
            "logout ends the cookie"
        );
        let shown = json_at(&c, &app, "/api/counter", 200).await;
        assert_eq!(
            shown,
            json!({ "count": 1 }),
            "a fresh session counts from 1"
        );
        goto(&c, &app.localhost_url("/")).await;
        assert_eq!(
            shown_user(&c).await,
            "bob",
            "localhost's session is untouched"
        );

        app.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_cookie_is_invisible_to_page_scripts() {
    driver::run(
        "session_cookie_is_invisible_to_page_scripts",
        |c| async move {
            let app = start_app(layer(KeyRing::generate(), |b| b), any_port()).await;
            login(&c, &app.url("/"), "ann").await;

            // The browser holds the cookie with every attribute the demo sets.
            let held = cookie(&c, COOKIE)
                .await
                .expect("the browser holds the session cookie");
            assert_eq!(held.http_only(), Some(true), "{held:?}");
            assert_eq!(held.secure(), Some(true), "{held:?}");
            assert_eq!(held.path(), Some("/"), "{held:?}");
            assert_eq!(held.same_site(), Some(cookie::SameSite::Lax), "{held:?}");

            // Page scripts can write and read ordinary cookies, but never see the session's.
            let seen = eval(
                &c,
                "document.cookie = 'probe=visible; path=/'; return document.cookie",
            )
            .await;
            let seen = seen.as_str().expect("document.cookie is a string");
            assert!(
                seen.contains("probe=visible"),
                "document.cookie works: {seen:?}"
            );
            assert!(
                !seen.contains(COOKIE) && !seen.contains(held.value()),
                "document.cookie shows the HttpOnly session cookie: {seen:?}"
            );

            // Yet the page's own requests carry it: a script can use the session, not steal it.
            let fetched = eval_async(
                &c,
                "const done = arguments[arguments.length - 1]; \
             fetch('/api/me').then(r => r.json()).then(done, e => done(String(e)))",
            )
            .await;
            assert_eq!(
                fetched["user"],
                json!("ann"),
                "fetch('/api/me') gave {fetched}"
            );
            let fetch = app.recorder.only("/api/me");
            assert!(fetch.has_cookie(COOKIE), "{fetch:?}");
            assert!(
                fetch.has_cookie("probe"),
                "the script's cookie travels too: {fetch:?}"
            );

            app.stop().await;
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookie_path_keeps_session_off_other_paths() {
    driver::run(
        "cookie_path_keeps_session_off_other_paths",
        |c| async move {
            // `__Host-` requires Path=/; `__Secure-` only requires Secure.
            const NAME: &str = "__Secure-session";
            let app = start_app(
                layer(KeyRing::generate(), |b| {
                    b.with_cookie_name(NAME).with_path("/api")
                }),
                any_port(),
            )
            .await;

            // Log in from a page under /api, with a script (the page at / is outside the
            // cookie's path: the session it starts for its CSRF token is never sent back to it,
            // and its cookie replaces the one under /api, so its form cannot log in here).
            goto(&c, &app.url("/api/me")).await;
            let logged_in = eval_async(
                &c,
                "const done = arguments[arguments.length - 1]; \
                 fetch('/api/csrf').then(r => r.json()).then(t => fetch('/api/login', { \
                   method: 'POST', \
                   headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': t.csrf_token }, \
                   body: JSON.stringify({ user: 'ann' }) })) \
                 .then(r => r.json()).then(done, e => done(String(e)))",
            )
            .await;
            assert_eq!(logged_in, json!({ "user": "ann" }));

            // Under /api the session is there, and keeps counting.
            let (user, count, _) = me(&c, &app).await;
            assert_eq!((user, count), (json!("ann"), 0));
            let seen = app.recorder.to("/api/me");
            assert!(seen.last().is_some_and(|m| m.has_cookie(NAME)), "{seen:#?}");
            let held = cookie(&c, NAME)
                .await
                .expect("the cookie, seen from a page under /api");
            assert_eq!(held.path(), Some("/api"), "{held:?}");
            for n in 1..=2u64 {
                let shown = json_at(&c, &app, "/api/counter", 200).await;
                assert_eq!(shown, json!({ "count": n }));
            }

            // And `/` shows nobody, with the default counter: the browser does not send the
            // Path=/api cookie there.
            goto(&c, &app.url("/")).await;
            assert_eq!(shown_user(&c).await, SIGNED_OUT);
            assert_eq!(shown_count(&c).await, 0);
            let pages = app.recorder.to("/");
            assert!(
                pages.iter().all(|p| !p.has_cookie(NAME)),
                "a request to / carried the cookie: {pages:#?}"
            );
            assert_eq!(
                cookie(&c, NAME).await,
                None,
                "WebDriver lists only the cookies the current page would get"
            );

            app.stop().await;
        },
    )
    .await;
}

/// The SameSite scenario: sign in on 127.0.0.1, then visit another site (`localhost`) whose page
/// loads an image and an iframe from the app and links to it. Subresources never carry the
/// cookie; the clicked link (a top-level cross-site navigation) carries it only with `Lax`.
async fn same_site_scenario(c: Client, same_site: SameSite) {
    let app = start_app(
        layer(KeyRing::generate(), |b| b.with_same_site(same_site)),
        any_port(),
    )
    .await;
    let other = servers::other_site(&app.url("")).await;

    login(&c, &app.url("/"), "ann").await;
    assert_eq!(
        json_at(&c, &app, "/api/counter", 200).await,
        json!({ "count": 1 })
    );
    let before = cookie_value(&c, COOKIE).await;
    let (_, _, session_id) = me(&c, &app).await;

    // The other site's page: its image and iframe requests are done when the load event fires.
    goto(&c, &other.localhost_url("/")).await;
    for path in ["/api/counter?via=img", "/api/me?via=iframe"] {
        let seen = app.recorder.only(path);
        assert_eq!(
            seen.fetch_site.as_deref(),
            Some("cross-site"),
            "localhost and 127.0.0.1 must be different sites for this test to mean anything: {seen:?}"
        );
        assert!(
            !seen.has_cookie(COOKIE),
            "SameSite={same_site:?}: a cross-site subresource ({:?}) carried the session: {seen:?}",
            seen.fetch_dest
        );
    }

    // Click the link: a top-level cross-site navigation to /api/me.
    click_and_wait(&c, "#go").await;
    assert_eq!(url(&c).await, app.url("/api/me?via=link"));
    let shown = page_json(&c).await;
    let seen = app.recorder.only("/api/me?via=link");
    assert_eq!(seen.fetch_site.as_deref(), Some("cross-site"), "{seen:?}");
    assert_eq!(seen.fetch_dest.as_deref(), Some("document"), "{seen:?}");
    match same_site {
        SameSite::Strict => {
            assert!(
                !seen.has_cookie(COOKIE),
                "Strict: the navigation carried the session: {seen:?}"
            );
            assert_eq!(
                shown,
                json!({ "user": null, "count": 0, "session_id": null }),
                "Strict: the navigation must arrive without the session"
            );
        }
        _ => {
            assert!(
                seen.has_cookie(COOKIE),
                "{same_site:?}: the navigation came without the session: {seen:?}"
            );
            assert_eq!(
                shown,
                json!({ "user": "ann", "count": 1, "session_id": session_id }),
                "{same_site:?}: the navigation must arrive with the session"
            );
        }
    }

    // Back on the app's own site the session is intact: the image's request neither counted nor
    // replaced the cookie (the browser refuses a SameSite cookie from a cross-site response).
    let (user, count, id) = me(&c, &app).await;
    assert_eq!(
        (user, count, id),
        (json!("ann"), 1, session_id),
        "the session after the visit to the other site"
    );
    assert_eq!(
        cookie_value(&c, COOKIE).await,
        before,
        "the cookie is unchanged"
    );

    other.stop().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_site_strict_withholds_cross_site_navigation() {
    driver::run("same_site_strict_withholds_cross_site_navigation", |c| {
        same_site_scenario(c, SameSite::Strict)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_site_lax_sends_cross_site_navigation() {
    driver::run("same_site_lax_sends_cross_site_navigation", |c| {
        same_site_scenario(c, SameSite::Lax)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_rotation_reseals_then_retired_key_gives_fresh_session() {
    driver::run(
        "key_rotation_reseals_then_retired_key_gives_fresh_session",
        |c| async move {
            let (k1, k2) = (key_with_id(1), key_with_id(2));
            let ring = |keys: &[&Key]| {
                let mut b = KeyRing::builder().primary(keys[0].clone());
                for k in &keys[1..] {
                    b = b.older((*k).clone());
                }
                b.build().expect("a key ring")
            };

            // A: [k1].
            let a = start_app(layer(ring(&[&k1]), |b| b), any_port()).await;
            let addr = a.addr;
            login(&c, &a.url("/"), "ann").await;
            assert_eq!(
                json_at(&c, &a, "/api/counter", 200).await,
                json!({ "count": 1 })
            );
            let (_, _, session_id) = me(&c, &a).await;
            let token_k1 = cookie_value(&c, COOKIE).await;
            assert_eq!(key_id_of(&token_k1), 1, "A seals under k1");
            a.stop().await;

            // B, on the same port: [k2 primary, k1 older]. The reload still shows ann, and the
            // browser's cookie has been re-sealed under k2.
            let b = start_app(layer(ring(&[&k2, &k1]), |b| b), addr).await;
            c.refresh().await.expect("reload");
            assert_eq!(url(&c).await, b.url("/api/me"));
            assert_eq!(status(&c).await, 200);
            assert_eq!(
                page_json(&c).await,
                json!({ "user": "ann", "count": 1, "session_id": session_id }),
                "the session survives the rotation"
            );
            let token_k2 = cookie_value(&c, COOKIE).await;
            assert_ne!(token_k2, token_k1, "the cookie is re-sealed");
            assert_eq!(key_id_of(&token_k2), 2, "B re-seals under k2");
            goto(&c, &b.url("/")).await;
            assert_eq!(shown_user(&c).await, "ann");
            assert_eq!(shown_count(&c).await, 1);
            b.stop().await;

            // C: [k2] only. The re-sealed cookie still works…
            let server_c = start_app(layer(ring(&[&k2]), |b| b), addr).await;
            c.refresh().await.expect("reload");
            assert_eq!(shown_user(&c).await, "ann", "the k2 cookie opens under C");

            // …but a browser that slept through the rotation still holds the k1 cookie: put it
            // back (as the server set it: Secure, HttpOnly, Lax, Path=/, host-only).
            page::plant_cookie(&c, &server_c.url(""), COOKIE, &token_k1).await;
            assert_eq!(cookie_value(&c, COOKIE).await, token_k1);
            c.refresh().await.expect("reload");
            assert_eq!(
                status(&c).await,
                200,
                "no error page: {:?}",
                body_text(&c).await
            );
            assert_eq!(
                shown_user(&c).await,
                SIGNED_OUT,
                "a k1 cookie opens nowhere once k1 is dropped"
            );
            assert_eq!(shown_count(&c).await, 0);
            let last = app_last(&server_c, "/");
            assert!(
                last.cookie
                    .as_deref()
                    .is_some_and(|h| h.contains(&token_k1)),
                "the reload carried the k1 cookie: {last:?}"
            );
            // The page replaced the refused cookie with a fresh session (for its CSRF token).
            let replaced = cookie_value(&c, COOKIE).await;
            assert_ne!(replaced, token_k1, "the refused cookie is replaced");
            assert_eq!(key_id_of(&replaced), 2, "C seals under k2");
            // The fresh session works like any other.
            assert_eq!(
                json_at(&c, &server_c, "/api/counter", 200).await,
                json!({ "count": 1 })
            );
            let token_fresh = cookie_value(&c, COOKIE).await;
            assert_eq!(key_id_of(&token_fresh), 2, "C seals under k2");
            server_c.stop().await;
        },
    )
    .await;
}

/// The last request `app` received for `uri`.
fn app_last(app: &Running, uri: &str) -> servers::Seen {
    app.recorder
        .to(uri)
        .pop()
        .unwrap_or_else(|| panic!("no request to {uri}: {:#?}", app.recorder.all()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_session_is_refused_and_kept() {
    driver::run("oversized_session_is_refused_and_kept", |c| async move {
        let app = start_app(layer(KeyRing::generate(), |b| b), any_port()).await;
        login(&c, &app.url("/"), "ann").await;
        for n in 1..=2u64 {
            assert_eq!(
                json_at(&c, &app, "/api/counter", 200).await,
                json!({ "count": n })
            );
        }

        // A session that still fits grows its cookie.
        let small = cookie_value(&c, COOKIE).await.len();
        assert_eq!(
            json_at(&c, &app, "/api/big?bytes=1000", 200).await,
            json!({ "bytes": 1000 })
        );
        let grown = cookie_value(&c, COOKIE).await.len();
        assert!(grown > small + 1000, "{small} -> {grown} characters");

        // Past the 4096-byte cookie: the documented error, shown as such…
        assert_eq!(
            json_at(&c, &app, "/api/big?bytes=5000", 413).await,
            json!({ "error": "session_too_large" })
        );
        let held = cookie_value(&c, COOKIE).await;
        assert!(held.len() < 4096, "{} characters", held.len());

        // …and the session is not lost.
        goto(&c, &app.url("/")).await;
        assert_eq!(status(&c).await, 200);
        assert_eq!(shown_user(&c).await, "ann");
        assert_eq!(shown_count(&c).await, 2);

        app.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secure_cookie_needs_a_trustworthy_origin() {
    // `app.test` resolves to 127.0.0.1 in this browser only: a plain-http origin that is not
    // loopback by name, like a LAN host name in development.
    const RULES: &str = "--host-resolver-rules=MAP app.test 127.0.0.1";
    driver::run_with_args(
        "secure_cookie_needs_a_trustworthy_origin",
        &[RULES],
        |c| async move {
            let secure = start_app(layer(KeyRing::generate(), |b| b), any_port()).await;
            let port = secure.port();

            // Loopback over http is "potentially trustworthy": the Secure cookie is kept.
            for base in [secure.url(""), secure.localhost_url("")] {
                login(&c, &format!("{base}/"), "ann").await;
            }

            // Another http origin: the browser drops the Secure cookie, so the login is refused:
            // the form's CSRF token is bound to a session the browser did not keep (the demo's
            // `secure = true` setting is for https deployments).
            let app_test = format!("http://app.test:{port}/");
            submit_login(&c, &app_test, "ann").await;
            assert_eq!(url(&c).await, format!("{app_test}api/login"));
            assert_eq!(status(&c).await, 403);
            goto(&c, &app_test).await;
            assert_eq!(
                shown_user(&c).await,
                SIGNED_OUT,
                "a Secure cookie set over http://app.test was kept"
            );
            assert_eq!(cookie(&c, COOKIE).await, None);
            secure.stop().await;

            // The demo's development setting (`secure = false`, cookie `session`) works there.
            let plain = start_app(
                demo::configure(SessionLayer::builder(KeyRing::generate()), false)
                    .build()
                    .expect("the demo's development layer"),
                any_port(),
            )
            .await;
            let app_test = format!("http://app.test:{}/", plain.port());
            login(&c, &app_test, "ann").await;
            let held = cookie(&c, "session")
                .await
                .expect("the plain-http cookie is kept");
            assert_eq!(held.secure(), Some(false), "{held:?}");
            plain.stop().await;
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csrf_form_with_and_without_token() {
    driver::run("csrf_form_with_and_without_token", |c| async move {
        let app = start_app(layer(KeyRing::generate(), |b| b), any_port()).await;

        // The form without its token: a script removes the hidden field, then posts the form as
        // the browser would encode it (urlencoded), and reads the answer.
        goto(&c, &app.url("/")).await;
        let anonymous = cookie_value(&c, COOKIE).await;
        let answer = eval_async(
            &c,
            "const done = arguments[arguments.length - 1]; \
             const form = document.querySelector('#login-form'); \
             form.querySelector('input[name=csrf_token]').remove(); \
             document.querySelector('#login-user').value = 'mallory'; \
             fetch(form.action, { method: 'POST', body: new URLSearchParams(new FormData(form)) }) \
               .then(r => r.text().then(t => done([r.status, t])), e => done(String(e)))",
        )
        .await;
        assert_eq!(answer, json!([403, ""]), "an opaque 403");
        assert_eq!(
            cookie_value(&c, COOKIE).await,
            anonymous,
            "the refusal leaves the session as it was"
        );
        // The same, submitted as a navigation: refused too, the session as it was.
        click_and_wait(&c, "#login").await;
        let posts = app.recorder.to("/api/login");
        assert_eq!(posts.len(), 2, "{posts:#?}");
        assert!(posts.iter().all(|p| p.has_cookie(COOKIE)), "{posts:#?}");
        goto(&c, &app.url("/")).await;
        assert_eq!(shown_user(&c).await, SIGNED_OUT);
        assert_eq!(cookie_value(&c, COOKIE).await, anonymous);

        // The same form with its token logs in, and the page shows the flash message once.
        login(&c, &app.url("/"), "ann").await;
        assert_eq!(text_of(&c, "#flash-info").await, "Signed in as ann.");
        c.refresh().await.expect("reload");
        assert_eq!(shown_user(&c).await, "ann");
        let flashes = eval(&c, "return document.querySelectorAll('.flash').length").await;
        assert_eq!(flashes, json!(0), "a flash message shows once");

        app.stop().await;
    })
    .await;
}
