//! What the browser tests (`tests/browser/tests/browser.rs`) do with a page, over WebDriver:
//! navigate, fill and submit the demo's forms and wait for the next page, read the text, the JSON
//! and the HTTP status the browser got, read the browser's cookies (WebDriver sees HttpOnly ones,
//! page scripts do not), and save screenshots.
//!
//! Every helper panics with what it was doing and what the page showed, so a failed scenario
//! reads as a story.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use fantoccini::cookies::Cookie;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, Locator};
use serde_json::{json, Value};
use url::Url;

/// How long a condition may take to hold (a page load, a redirect).
const WAIT: Duration = Duration::from_secs(20);

/// Navigate (browser-initiated, like typing the URL: never a cross-site request) and wait for
/// the load event.
pub async fn goto(c: &Client, url: &str) {
    c.goto(url)
        .await
        .unwrap_or_else(|e| panic!("navigating to {url}: {e}"));
}

/// Run `script` (a function body; `return` its value) in the page.
pub async fn eval(c: &Client, script: &str) -> Value {
    c.execute(script, Vec::new())
        .await
        .unwrap_or_else(|e| panic!("running {script:?} in the page: {e}"))
}

/// Run `script` in the page, where the last argument is the callback to call with the result.
pub async fn eval_async(c: &Client, script: &str) -> Value {
    c.execute_async(script, Vec::new())
        .await
        .unwrap_or_else(|e| panic!("running {script:?} (async) in the page: {e}"))
}

/// The page's URL.
pub async fn url(c: &Client) -> String {
    c.current_url()
        .await
        .map(|u| u.to_string())
        .unwrap_or_else(|e| panic!("reading the current URL: {e}"))
}

/// The visible text of the page.
pub async fn body_text(c: &Client) -> String {
    match eval(c, "return document.body ? document.body.innerText : ''").await {
        Value::String(s) => s,
        other => panic!("document.body.innerText was {other}"),
    }
}

/// The JSON document the browser shows (Chromium renders a JSON response as text in a `<pre>`).
pub async fn page_json(c: &Client) -> Value {
    let text = match eval(
        c,
        "const pre = document.querySelector('body > pre'); \
         return pre ? pre.innerText : document.body.innerText",
    )
    .await
    {
        Value::String(s) => s,
        other => panic!("the page's text was {other}"),
    };
    match serde_json::from_str(text.trim()) {
        Ok(v) => v,
        Err(e) => panic!(
            "the page at {} does not show JSON ({e}): {text:?}",
            url(c).await
        ),
    }
}

/// The HTTP status of the response the current page was loaded from (the Navigation Timing
/// API's `responseStatus`).
pub async fn status(c: &Client) -> u16 {
    let v = eval(
        c,
        "const nav = performance.getEntriesByType('navigation')[0]; \
         return nav ? nav.responseStatus : null",
    )
    .await;
    match v.as_u64().and_then(|n| u16::try_from(n).ok()) {
        Some(n) => n,
        None => panic!("no navigation status for {}: {v}", url(c).await),
    }
}

/// The text of the element `css`.
pub async fn text_of(c: &Client, css: &str) -> String {
    let element = match c.find(Locator::Css(css)).await {
        Ok(element) => element,
        Err(e) => panic!(
            "no element {css} on {} ({e}); the page shows {:?}",
            url(c).await,
            body_text(c).await
        ),
    };
    element
        .text()
        .await
        .unwrap_or_else(|e| panic!("reading the text of {css}: {e}"))
}

/// The demo page's `#user` text: the user name, or `Not signed in.`.
pub async fn shown_user(c: &Client) -> String {
    text_of(c, "#user").await
}

/// The demo page's `#count`.
pub async fn shown_count(c: &Client) -> u64 {
    let text = text_of(c, "#count").await;
    text.trim()
        .parse()
        .unwrap_or_else(|e| panic!("#count is {text:?}: {e}"))
}

/// Poll `script` (which returns a boolean) until it returns true; errors while a navigation is
/// under way count as "not yet".
pub async fn wait_until(c: &Client, what: &str, script: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Ok(Value::Bool(true)) = c.execute(script, Vec::new()).await {
            return;
        }
        if Instant::now() > deadline {
            panic!(
                "waited {WAIT:?} for {what}; the page at {} shows {:?}",
                url(c).await,
                body_text(c).await
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Click `css` and wait until a NEW document has loaded (the click navigates: a link, or a
/// form submission followed by a redirect that may come back to the same URL).
pub async fn click_and_wait(c: &Client, css: &str) {
    eval(c, "window.__sealedSessionStale = true; return null").await;
    let element = match c.find(Locator::Css(css)).await {
        Ok(element) => element,
        Err(e) => panic!("no element {css} to click on {}: {e}", url(c).await),
    };
    element
        .click()
        .await
        .unwrap_or_else(|e| panic!("clicking {css}: {e}"));
    wait_until(
        c,
        &format!("the page after clicking {css}"),
        "return window.__sealedSessionStale === undefined && document.readyState === 'complete'",
    )
    .await;
}

/// On the demo page at `page_url`, type `user` into the login form and submit it; returns once
/// the page the form post redirected to has loaded.
pub async fn submit_login(c: &Client, page_url: &str, user: &str) {
    goto(c, page_url).await;
    let field = c
        .find(Locator::Css("#login-user"))
        .await
        .unwrap_or_else(|e| panic!("no login field on {page_url}: {e}"));
    field
        .send_keys(user)
        .await
        .unwrap_or_else(|e| panic!("typing into #login-user: {e}"));
    click_and_wait(c, "#login").await;
}

/// Log in through the form on `page_url` and check the page then greets `user`.
pub async fn login(c: &Client, page_url: &str, user: &str) {
    submit_login(c, page_url, user).await;
    assert_eq!(
        shown_user(c).await,
        user,
        "after signing in as {user} at {page_url}, the page at {} shows {:?}",
        url(c).await,
        body_text(c).await
    );
}

/// The browser's cookie `name` for the current page (WebDriver sees HttpOnly cookies too).
pub async fn cookie(c: &Client, name: &str) -> Option<Cookie<'static>> {
    let all = c
        .get_all_cookies()
        .await
        .unwrap_or_else(|e| panic!("reading the browser's cookies: {e}"));
    let mut matching: Vec<Cookie<'static>> =
        all.into_iter().filter(|ck| ck.name() == name).collect();
    assert!(
        matching.len() <= 1,
        "the browser holds {} cookies named {name}: {matching:?}",
        matching.len()
    );
    matching.pop()
}

/// The value of the browser's cookie `name`; panics when there is none.
pub async fn cookie_value(c: &Client, name: &str) -> String {
    match cookie(c, name).await {
        Some(ck) => ck.value().to_owned(),
        None => panic!("the browser holds no cookie {name} for {}", url(c).await),
    }
}

/// A Chrome DevTools Protocol command, sent through chromedriver's `goog/cdp/execute` endpoint
/// (for what WebDriver cannot say, e.g. a host-only cookie on an IP address).
#[derive(Debug)]
struct Cdp {
    method: &'static str,
    params: Value,
}

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &Url,
        session_id: Option<&str>,
    ) -> Result<Url, <Url as std::str::FromStr>::Err> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _request_url: &Url) -> (http::Method, Option<String>) {
        let body = json!({ "cmd": self.method, "params": self.params });
        (http::Method::POST, Some(body.to_string()))
    }
}

/// Put a cookie in the browser exactly as a server at `origin` (e.g. `http://127.0.0.1:PORT`)
/// would set it with `Path=/`, `Secure`, `HttpOnly`, `SameSite=Lax` and no Domain (host-only).
/// WebDriver's own "add cookie" cannot: chromedriver refuses a cookie without a domain on an IP
/// address ("invalid 'domain'").
pub async fn plant_cookie(c: &Client, origin: &str, name: &str, value: &str) {
    let params = json!({
        "name": name,
        "value": value,
        "url": format!("{origin}/"),
        "path": "/",
        "secure": true,
        "httpOnly": true,
        "sameSite": "Lax",
    });
    let cmd = Cdp {
        method: "Network.setCookie",
        params,
    };
    let answer = c
        .issue_cmd(cmd)
        .await
        .unwrap_or_else(|e| panic!("planting the cookie {name} for {origin}: {e}"));
    assert_eq!(
        answer.get("success"),
        Some(&json!(true)),
        "Network.setCookie refused the cookie {name} for {origin}: {answer}"
    );
}

/// Where test artifacts go: `target/browser-artifacts/` of the workspace (under `CARGO_TARGET_DIR`
/// when set).
pub fn artifacts_dir() -> PathBuf {
    // This crate is tests/browser/ in the workspace, whose target directory is at the root.
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("browser-artifacts")
}

/// Save a PNG screenshot of the page as `artifacts_dir()/file_name`; returns its path.
pub async fn save_screenshot(c: &Client, file_name: &str) -> PathBuf {
    let png = c
        .screenshot()
        .await
        .unwrap_or_else(|e| panic!("taking a screenshot: {e}"));
    let dir = artifacts_dir();
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
    let path = dir.join(file_name);
    std::fs::write(&path, &png).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    path
}
