//! The cookies the real Python Beaker 1.14 makes (`tests/beaker/make_cookies.py`, run in the
//! virtual environment `scripts/install-beaker.sh` makes), shared by `tests/beaker.rs` and
//! `tests/beaker_migration.rs`. Without Beaker, [`cookies`] prints `SKIPPED` and gives `None`,
//! unless `SEALED_TEST_REQUIRE_BEAKER=1` (set by `scripts/test.sh` once the install worked),
//! when it fails.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers: a panic is a failed test; each test binary uses part"
)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use sealed_session::beaker::{BeakerReader, BeakerSettings};
use sealed_session::UnixTime;
use serde::Deserialize;
use serde_json::{Map, Value};

const REQUIRE_ENV: &str = "SEALED_TEST_REQUIRE_BEAKER";
const VENV_ENV: &str = "SEALED_TEST_BEAKER_VENV";

#[derive(Deserialize)]
pub struct Cookies {
    pub beaker: String,
    pub now: f64,
    pub cases: Vec<Case>,
}

#[derive(Deserialize)]
pub struct Case {
    pub desc: String,
    pub settings: Value,
    pub value: String,
    pub expect: Expect,
    #[serde(default)]
    pub entries: Option<Map<String, Value>>,
    #[serde(default)]
    pub cookie_name: Option<String>,
    #[serde(default)]
    pub attributes: Option<Vec<String>>,
    #[serde(default)]
    pub cookie_path: Option<String>,
    #[serde(default)]
    pub cookie_domain: Option<String>,
    #[serde(default)]
    pub accessed: Option<f64>,
}

#[derive(Deserialize)]
#[serde(untagged)]
pub enum Expect {
    /// `"ok"`.
    Ok(String),
    /// Any of these rejection codes.
    Rejected(Vec<String>),
}

impl Cookies {
    /// The script's clock, whole seconds: reading "now" as the script saw it keeps the
    /// timeout cases independent of how long the test took to start.
    pub fn now(&self) -> UnixTime {
        UnixTime::from_secs(self.now as u64)
    }

    pub fn case(&self, desc: &str) -> &Case {
        self.cases
            .iter()
            .find(|c| c.desc == desc)
            .unwrap_or_else(|| panic!("no case {desc:?} in make_cookies.py's output"))
    }
}

impl Case {
    pub fn reader(&self) -> BeakerReader {
        let settings: BeakerSettings = serde_json::from_value(self.settings.clone())
            .unwrap_or_else(|e| panic!("{}: settings do not deserialize: {e}", self.desc));
        BeakerReader::from_settings(settings).unwrap()
    }
}

fn venv_python() -> PathBuf {
    let venv = std::env::var_os(VENV_ENV).map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/beaker-venv"),
        PathBuf::from,
    );
    venv.join("bin/python")
}

/// The cookies Beaker made, once per test binary; `None` (after a loud message) without Beaker.
pub fn cookies() -> Option<&'static Cookies> {
    static COOKIES: OnceLock<Option<Cookies>> = OnceLock::new();
    COOKIES
        .get_or_init(|| {
            let python = venv_python();
            let script =
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/beaker/make_cookies.py");
            let output = if python.exists() {
                Command::new(&python).arg(&script).output().ok()
            } else {
                None
            };
            let Some(output) = output.filter(|o| o.status.success()) else {
                assert!(
                    std::env::var(REQUIRE_ENV).as_deref() != Ok("1"),
                    "Beaker is not installed in {} (or make_cookies.py failed) and {REQUIRE_ENV}=1: \
                     run scripts/install-beaker.sh",
                    python.display()
                );
                eprintln!(
                    "SKIPPED: Python Beaker not installed at {}; run scripts/install-beaker.sh \
                     (set {REQUIRE_ENV}=1 to make this a failure)",
                    python.display()
                );
                return None;
            };
            Some(serde_json::from_slice(&output.stdout).expect("make_cookies.py prints JSON"))
        })
        .as_ref()
}
