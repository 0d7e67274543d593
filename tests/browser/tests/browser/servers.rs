//! The servers the browser talks to (`tests/browser/tests/browser.rs`): the example app
//! (`examples/axum_app.rs`, its `router`) served in-process by `axum::serve` on 127.0.0.1, with a
//! recorder in front of it that remembers, for every request, its path and the `Cookie` and
//! `Sec-Fetch-*` headers the browser sent; and a tiny "other site" serving one HTML page that links
//! to, embeds and loads images from the app (reached as `http://localhost:PORT/`, a different site
//! from 127.0.0.1).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::response::Html;
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// One request as the app received it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// `GET`, `POST`…
    pub method: String,
    /// Path and query, e.g. `/api/me?via=link`.
    pub uri: String,
    /// The `Cookie` header, if any (all values joined with `; `).
    pub cookie: Option<String>,
    /// `Sec-Fetch-Site` (`same-origin`, `cross-site`, `none`…), for the failure messages.
    pub fetch_site: Option<String>,
    /// `Sec-Fetch-Dest` (`document`, `image`, `iframe`…).
    pub fetch_dest: Option<String>,
}

impl Seen {
    /// Whether the request carried a cookie named `name`.
    pub fn has_cookie(&self, name: &str) -> bool {
        self.cookie.as_deref().is_some_and(|header| {
            header
                .split(';')
                .any(|pair| pair.trim().split('=').next() == Some(name))
        })
    }
}

/// The requests one server received, in order.
#[derive(Debug, Clone, Default)]
pub struct Recorder(Arc<Mutex<Vec<Seen>>>);

impl Recorder {
    fn push(&self, request: &Request) {
        let header = |name: &str| {
            let values: Vec<&str> = request
                .headers()
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect();
            (!values.is_empty()).then(|| values.join("; "))
        };
        let seen = Seen {
            method: request.method().to_string(),
            uri: request
                .uri()
                .path_and_query()
                .map_or_else(|| request.uri().path().to_owned(), |pq| pq.to_string()),
            cookie: header("cookie"),
            fetch_site: header("sec-fetch-site"),
            fetch_dest: header("sec-fetch-dest"),
        };
        self.0.lock().expect("the recorder").push(seen);
    }

    /// Every request so far.
    pub fn all(&self) -> Vec<Seen> {
        self.0.lock().expect("the recorder").clone()
    }

    /// The requests whose path and query is exactly `uri`.
    pub fn to(&self, uri: &str) -> Vec<Seen> {
        self.all().into_iter().filter(|s| s.uri == uri).collect()
    }

    /// The one request to `uri`; panics (listing every request) unless there was exactly one.
    pub fn only(&self, uri: &str) -> Seen {
        let mut seen = self.to(uri);
        assert_eq!(
            seen.len(),
            1,
            "expected exactly one request to {uri}; the server saw {:#?}",
            self.all()
        );
        seen.remove(0)
    }
}

/// A server running in a task of this test's runtime.
#[derive(Debug)]
pub struct Running {
    /// Where it listens (always 127.0.0.1).
    pub addr: SocketAddr,
    /// What it received.
    pub recorder: Recorder,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl Running {
    /// The port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port())
    }

    /// `http://localhost:PORT{path}`: the same server as another site.
    pub fn localhost_url(&self, path: &str) -> String {
        format!("http://localhost:{}{path}", self.port())
    }

    /// Stop serving and wait (at most 10 s, then abort) until the port is released.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            match tokio::time::timeout(Duration::from_secs(10), task).await {
                Ok(joined) => joined
                    .expect("the server task")
                    .expect("axum::serve ended with an error"),
                // The browser keeps idle keep-alive connections open; graceful shutdown closes
                // them, but never wait forever for it.
                Err(_) => abort.abort(),
            }
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Serve `router` (behind a [`Recorder`]) on `addr`: `127.0.0.1:0` for a new port, or a port a
/// stopped server used, to restart "the same" server.
pub async fn serve(router: Router, addr: SocketAddr) -> Running {
    let recorder = Recorder::default();
    let record = recorder.clone();
    let router = router.layer(tower::util::MapRequestLayer::new(
        move |request: Request| {
            record.push(&request);
            request
        },
    ));
    // A port just released by a stopped server can take a moment to be free again.
    let mut tries = 0;
    let listener = loop {
        match TcpListener::bind(addr).await {
            Ok(l) => break l,
            Err(e) if tries < 50 && addr.port() != 0 => {
                tries += 1;
                if tries == 1 {
                    eprintln!("binding {addr} again: {e}; retrying");
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("bind {addr}: {e}"),
        }
    };
    let addr = listener.local_addr().expect("the bound address");
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await
    });
    Running {
        addr,
        recorder,
        stop: Some(tx),
        task: Some(task),
    }
}

/// 127.0.0.1 on a port the kernel picks.
pub fn any_port() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// The "other site": one page at `/` that, pointing at `target` (an app's origin, e.g.
/// `http://127.0.0.1:PORT`), loads `/api/counter?via=img` as an image and `/api/me?via=iframe` in
/// an iframe (cross-site subresources), and links to `/api/me?via=link` (`#go`, a cross-site
/// top-level navigation once clicked).
pub async fn other_site(target: &str) -> Running {
    let router = Router::new()
        .route("/", get(other_site_page))
        .with_state(Arc::new(target.to_owned()));
    serve(router, any_port()).await
}

async fn other_site_page(State(target): State<Arc<String>>) -> Html<String> {
    Html(format!(
        r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>another site</title></head>
<body>
<h1>Another site</h1>
<p><a id="go" href="{target}/api/me?via=link">Go to the app</a></p>
<img id="img" alt="" src="{target}/api/counter?via=img">
<iframe id="frame" src="{target}/api/me?via=iframe"></iframe>
</body>
</html>
"#
    ))
}
