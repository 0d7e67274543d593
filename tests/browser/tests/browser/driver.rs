//! Headless Chromium for the browser tests (`tests/browser/tests/browser.rs`): finds Debian's
//! `chromium` and `chromedriver`, starts one chromedriver per test on a free port of 127.0.0.1 with
//! a fresh profile directory, opens a WebDriver session with `fantoccini` over plain http (no TLS
//! stack), and always tears both down again: the session is closed (which quits Chromium),
//! chromedriver is killed on drop, and any Chromium process still using this test's profile
//! directory is killed by its process id.
//!
//! [`run`] is the entry point every scenario uses: it skips loudly when Chromium is not installed
//! (and fails instead when `SEALED_TEST_REQUIRE_BROWSER=1`), serializes the scenarios (two
//! Chromium instances on a two-core machine only slow each other down), bounds each scenario's
//! time, and re-raises a scenario's panic after cleaning up.

use std::future::Future;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use fantoccini::wd::Capabilities;
use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;
use tempfile::TempDir;
use tokio::sync::Mutex;

/// Debian's `chromium` package; `SEALED_TEST_CHROMIUM` overrides the path.
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// Debian's `chromium-driver` package; `SEALED_TEST_CHROMEDRIVER` overrides the path.
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// When `1`, a missing Chromium fails the tests instead of skipping them (CI sets it after
/// `scripts/install-browser.sh` succeeded).
pub const REQUIRE_ENV: &str = "SEALED_TEST_REQUIRE_BROWSER";
/// The longest a whole scenario may take, browser start included.
pub const SCENARIO_TIMEOUT: Duration = Duration::from_secs(180);
/// The longest chromedriver may take to listen.
const DRIVER_START_TIMEOUT: Duration = Duration::from_secs(30);

/// One scenario at a time: each starts its own Chromium, and two of them on two cores (next to a
/// compiler) make every page load slow enough to flake.
static SERIAL: Mutex<()> = Mutex::const_new(());

/// The Chromium binary: `SEALED_TEST_CHROMIUM`, or [`CHROMIUM`].
pub fn chromium() -> PathBuf {
    std::env::var_os("SEALED_TEST_CHROMIUM").map_or_else(|| CHROMIUM.into(), PathBuf::from)
}

/// The chromedriver binary: `SEALED_TEST_CHROMEDRIVER`, or [`CHROMEDRIVER`].
pub fn chromedriver() -> PathBuf {
    std::env::var_os("SEALED_TEST_CHROMEDRIVER").map_or_else(|| CHROMEDRIVER.into(), PathBuf::from)
}

/// Why the browser cannot run here, or `None` when both binaries are installed.
pub fn missing_browser() -> Option<String> {
    let missing: Vec<String> = [chromium(), chromedriver()]
        .into_iter()
        .filter(|p| !is_executable(p))
        .map(|p| p.display().to_string())
        .collect();
    (!missing.is_empty()).then(|| format!("{} not found", missing.join(" and ")))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Whether CI demands the browser (`SEALED_TEST_REQUIRE_BROWSER=1`).
fn browser_required() -> bool {
    std::env::var(REQUIRE_ENV).is_ok_and(|v| v.trim() == "1")
}

/// Run `scenario` against a fresh headless Chromium, or skip it (with a loud message on stderr)
/// when Chromium is not installed and not required.
///
/// The scenario runs in a task of its own so that its panic (a failed assertion) still lets the
/// browser be closed; the panic is then re-raised here, so the test fails with the scenario's
/// message.
pub async fn run<F, Fut>(name: &str, scenario: F)
where
    F: FnOnce(Client) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    run_with_args(name, &[], scenario).await;
}

/// [`run`], with extra Chromium command-line arguments (e.g. `--host-resolver-rules=…`).
pub async fn run_with_args<F, Fut>(name: &str, extra_args: &[&str], scenario: F)
where
    F: FnOnce(Client) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    if let Some(why) = missing_browser() {
        if browser_required() {
            panic!(
                "{name}: {why}, and {REQUIRE_ENV}=1 requires the browser; \
                 run scripts/install-browser.sh or apt-get install chromium chromium-driver"
            );
        }
        skip(name, &why);
        return;
    }

    let _serial = SERIAL.lock().await;
    let started = Instant::now();
    let driver = Driver::start(name).await;
    let client = driver.connect(extra_args).await;
    let task = tokio::spawn(tokio::time::timeout(
        SCENARIO_TIMEOUT,
        scenario(client.clone()),
    ));
    let outcome = task.await;
    // Quits Chromium; a failure here only matters if the scenario passed.
    let closed = tokio::time::timeout(Duration::from_secs(30), client.close()).await;
    drop(driver);
    eprintln!("{name}: browser scenario took {:.1?}", started.elapsed());
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(_)) => panic!("{name}: the scenario did not finish within {SCENARIO_TIMEOUT:?}"),
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => panic!("{name}: the scenario task failed: {e}"),
    }
    match closed {
        Ok(Ok(())) => {}
        Ok(Err(e)) => panic!("{name}: closing the WebDriver session failed: {e}"),
        Err(_) => panic!("{name}: closing the WebDriver session took more than 30 s"),
    }
}

/// Say, on the real stderr (libtest captures `eprintln!` of passing tests, and a skip must not
/// pass unnoticed), that `name` was skipped: the full explanation once per run, then one line per
/// test.
fn skip(name: &str, why: &str) {
    use std::io::Write as _;
    static EXPLAINED: AtomicBool = AtomicBool::new(false);
    let mut err = std::io::stderr().lock();
    if !EXPLAINED.swap(true, Ordering::SeqCst) {
        let _ = writeln!(
            err,
            "\n********************************************************************************\n\
             SKIPPED: chromium not installed ({why}); run scripts/install-browser.sh or \
             apt-get install chromium chromium-driver\n\
             (set {REQUIRE_ENV}=1 to make this a failure)\n\
             ********************************************************************************"
        );
    }
    let _ = writeln!(err, "SKIPPED: {name}: chromium not installed");
}

/// A running chromedriver with its own profile directory for Chromium. Dropping it kills
/// chromedriver and any Chromium still running on that profile.
#[derive(Debug)]
pub struct Driver {
    name: String,
    /// chromedriver, once started.
    child: Option<Child>,
    port: u16,
    /// Holds the profile (`profile/`) and chromedriver's log (`chromedriver.log`).
    dir: TempDir,
}

impl Driver {
    /// Start chromedriver on a free port and wait until it accepts connections (three tries: the
    /// port is free when picked, but another process may take it before chromedriver binds it).
    pub async fn start(name: &str) -> Driver {
        let dir = tempfile::Builder::new()
            .prefix("sealed-session-browser-")
            .tempdir()
            .expect("a temporary directory for the browser profile");
        std::fs::create_dir(dir.path().join("profile")).expect("the profile directory");
        let mut driver = Driver {
            name: name.to_owned(),
            child: None,
            port: 0,
            dir,
        };
        let mut failures = Vec::new();
        for _ in 0..3 {
            match driver.try_start().await {
                Ok(()) => return driver,
                Err(why) => failures.push(why),
            }
        }
        panic!(
            "{name}: chromedriver did not start:\n{}",
            failures.join("\n")
        );
    }

    async fn try_start(&mut self) -> Result<(), String> {
        self.stop_driver();
        let log_path = self.dir.path().join("chromedriver.log");
        let log = std::fs::File::create(&log_path).expect("chromedriver's log file");
        let log_err = log.try_clone().expect("chromedriver's log file, again");
        // chromedriver needs an explicit port: take a free one from the kernel and release it.
        self.port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port for chromedriver")
            .port();
        let binary = chromedriver();
        let child = Command::new(&binary)
            .arg(format!("--port={}", self.port))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(|e| format!("starting {}: {e}", binary.display()))?;
        let child = self.child.insert(child);
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let deadline = Instant::now() + DRIVER_START_TIMEOUT;
        loop {
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                return Ok(());
            }
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!(
                    "chromedriver exited with {status} before listening on {addr}:\n{}",
                    self.log()
                ));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "chromedriver did not listen on {addr} within {DRIVER_START_TIMEOUT:?}:\n{}",
                    self.log()
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Kill chromedriver (if running) and reap it.
    fn stop_driver(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// chromedriver's output so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("chromedriver.log")).unwrap_or_default()
    }

    fn profile(&self) -> PathBuf {
        self.dir.path().join("profile")
    }

    /// Open a WebDriver session: headless Chromium on a fresh profile, with `extra_args` after
    /// the standard arguments.
    pub async fn connect(&self, extra_args: &[&str]) -> Client {
        let profile = self.profile();
        let mut args = vec![
            "--headless".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--window-size=1024,768".to_owned(),
            format!("--user-data-dir={}", profile.display()),
        ];
        args.extend(extra_args.iter().map(|a| (*a).to_owned()));
        let mut caps = Capabilities::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert(
            "goog:chromeOptions".into(),
            json!({ "binary": chromium(), "args": args }),
        );
        let url = format!("http://127.0.0.1:{}", self.port);
        let mut builder = ClientBuilder::new(HttpConnector::new());
        builder.capabilities(caps);
        let connect = builder.connect(&url);
        match tokio::time::timeout(Duration::from_secs(60), connect).await {
            Ok(Ok(client)) => client,
            Ok(Err(e)) => panic!(
                "{}: no WebDriver session from chromedriver at {url}: {e}\n{}",
                self.name,
                self.log()
            ),
            Err(_) => panic!(
                "{}: chromedriver at {url} did not start Chromium within 60 s\n{}",
                self.name,
                self.log()
            ),
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.stop_driver();
        kill_chromium_using(&self.profile());
    }
}

/// Kill (by process id) every process whose command line names `profile`: the Chromium that this
/// test's chromedriver started, if closing the session did not end it. Only this test's own
/// temporary profile directory is matched, so no other process is touched.
fn kill_chromium_using(profile: &Path) {
    let needle = format!("--user-data-dir={}", profile.display());
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let named = cmdline
            .split(|&b| b == 0)
            .any(|arg| arg == needle.as_bytes());
        if named && pid != std::process::id() {
            let _ = Command::new("kill")
                .arg("-KILL")
                .arg(pid.to_string())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}
