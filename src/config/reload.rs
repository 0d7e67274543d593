//! Swapping the key ring at runtime: re-read the configuration's sources and hand the new ring
//! to every manager or sealer, without a restart and without dropping a request.

use std::fmt;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use super::{config_error, Config, Origin, Settings};
use crate::error::Error;
use crate::keys::KeyRing;
use crate::seal::Sealer;
use crate::SessionManager;

/// Where a reloaded ring goes.
enum Target {
    Manager(SessionManager),
    Sealer(Sealer),
    Callback(Box<dyn Fn(&KeyRing) + Send + Sync>),
}

impl Target {
    fn apply(&self, ring: &KeyRing) {
        match self {
            Target::Manager(m) => m.set_key_ring(ring.clone()),
            Target::Sealer(s) => s.set_ring(ring.clone()),
            Target::Callback(f) => f(ring),
        }
    }
}

/// What the last successful load looked like.
struct Seen {
    fingerprint: [u8; 32],
    settings: Settings,
}

struct Inner {
    origin: Arc<Origin>,
    targets: Mutex<Vec<Target>>,
    seen: Mutex<Seen>,
}

/// Re-reads a [`Config`]'s sources (the same file, the same environment as when it was loaded)
/// and swaps the key ring of every registered [`SessionManager`], [`Sealer`] or callback.
///
/// The swap is atomic for each target: a request that already started opening or sealing
/// finishes with the old ring, the next one uses the new ring. A pending key needs no reload to
/// become primary: the ring switches at its activation time on its own.
///
/// If the new configuration does not load (a half-written file, a bad key), the error is
/// returned and the current ring stays in place. Only keys are reloaded; a change to another
/// setting is logged as a warning and applies at the next restart.
///
/// ```
/// use sealed_session::config::{Config, KeyRingReloader};
/// use sealed_session::Key;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("session.toml");
/// let entry = |key: &Key, state: &str| {
///     format!("[[keys.key]]\nsecret = \"{}\"\nstate = \"{state}\"\n", key.to_base64().as_str())
/// };
/// let (old, new) = (Key::generate(), Key::generate());
/// std::fs::write(&path, entry(&old, "primary"))?;
///
/// let config = Config::loader().file(&path).load()?;
/// let manager = config.build_manager()?;
/// let reloader = KeyRingReloader::new(&config).with_manager(manager.clone());
/// assert!(!reloader.reload_if_changed()?); // nothing changed yet
///
/// std::fs::write(&path, entry(&new, "primary") + &entry(&old, "older"))?;
/// assert!(reloader.reload_if_changed()?);
/// assert!(manager.sealer().ring().contains(new.id()));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct KeyRingReloader {
    inner: Arc<Inner>,
}

impl fmt::Debug for KeyRingReloader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let targets = self.inner.targets.lock().map_or(0, |t| t.len());
        f.debug_struct("KeyRingReloader")
            .field("source", &self.inner.origin.file)
            .field("env", &self.inner.origin.env.names)
            .field("targets", &targets)
            .finish_non_exhaustive()
    }
}

impl KeyRingReloader {
    /// A reloader for the sources `config` was loaded from, with no targets yet. It considers
    /// `config`'s keys the current ones.
    pub fn new(config: &Config) -> Self {
        KeyRingReloader {
            inner: Arc::new(Inner {
                origin: Arc::clone(&config.origin),
                targets: Mutex::new(Vec::new()),
                seen: Mutex::new(Seen {
                    fingerprint: config.fingerprint,
                    settings: config.settings.clone(),
                }),
            }),
        }
    }

    fn push(self, target: Target) -> Self {
        self.inner
            .targets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(target);
        self
    }

    /// Also swap this manager's ring (and so every adapter built from it).
    #[must_use]
    pub fn with_manager(self, manager: SessionManager) -> Self {
        self.push(Target::Manager(manager))
    }

    /// Also swap this sealer's ring.
    #[must_use]
    pub fn with_sealer(self, sealer: Sealer) -> Self {
        self.push(Target::Sealer(sealer))
    }

    /// Also call `f` with every new ring (to update a cache, or record a metric).
    #[must_use]
    pub fn with_callback(self, f: impl Fn(&KeyRing) + Send + Sync + 'static) -> Self {
        self.push(Target::Callback(Box::new(f)))
    }

    /// Load again and swap the ring into every target, changed or not. Returns the new ring.
    ///
    /// # Errors
    /// The load error (see [`Config::load`]); the targets keep their ring.
    pub fn reload(&self) -> Result<KeyRing, Error> {
        let config = self.inner.origin.load()?;
        self.install(&config);
        Ok(config.key_ring())
    }

    /// Load again and swap the ring only if the keys changed (an id, a state, an activation
    /// time, a secret, or the revoke-all cutoff). Returns whether it swapped.
    ///
    /// Cheap enough to call every few seconds: it reads one small file (and the secret files it
    /// names) and derives the keys' subkeys.
    ///
    /// # Errors
    /// The load error (see [`Config::load`]); the targets keep their ring.
    pub fn reload_if_changed(&self) -> Result<bool, Error> {
        let config = self.inner.origin.load()?;
        let changed = {
            let seen = self
                .inner
                .seen
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            seen.fingerprint != config.fingerprint
        };
        if changed {
            self.install(&config);
        } else {
            self.note_settings(&config);
        }
        Ok(changed)
    }

    fn install(&self, config: &Config) {
        let ring = config.key_ring();
        for target in self
            .inner
            .targets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            target.apply(&ring);
        }
        self.note_settings(config);
        let mut seen = self
            .inner
            .seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        seen.fingerprint = config.fingerprint;
        let keys: Vec<String> = ring
            .keys()
            .map(|(id, state)| format!("{id}={}", super::file::state_name(state)))
            .collect();
        tracing::info!(
            source = ?self.inner.origin.file,
            keys = %keys.join(" "),
            revoke_before = ?ring.revoke_before(),
            "session key ring reloaded"
        );
    }

    /// Warn once per change about settings that only apply at the next restart.
    fn note_settings(&self, config: &Config) {
        let mut seen = self
            .inner
            .seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if seen.settings != config.settings {
            tracing::warn!(
                source = ?self.inner.origin.file,
                "session settings changed; only keys are reloaded, the rest applies at the next restart"
            );
            seen.settings = config.settings.clone();
        }
    }

    /// Call [`reload_if_changed`](Self::reload_if_changed) every `interval` on a background
    /// thread until the returned handle is stopped or dropped. A failed load is logged (once
    /// per distinct error, without any value from the configuration) and retried at the next
    /// tick; the current ring stays in place meanwhile.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidConfig`](crate::ErrorKind::InvalidConfig) if the thread cannot be
    /// started.
    pub fn spawn_poller(&self, interval: Duration) -> Result<ReloadPoller, Error> {
        let (stop, stopped) = mpsc::channel::<()>();
        let reloader = self.clone();
        let handle = std::thread::Builder::new()
            .name("sealed-session-reload".to_owned())
            .spawn(move || {
                let mut last_error: Option<Error> = None;
                loop {
                    match stopped.recv_timeout(interval) {
                        Err(RecvTimeoutError::Timeout) => {}
                        Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
                    }
                    match reloader.reload_if_changed() {
                        Ok(_) => last_error = None,
                        Err(e) => {
                            if last_error.as_ref() != Some(&e) {
                                tracing::error!(error = %e, "session key ring not reloaded; keeping the current one");
                            }
                            last_error = Some(e);
                        }
                    }
                }
            })
            .map_err(|e| config_error(format!("cannot start the reload thread: {e}")))?;
        Ok(ReloadPoller {
            stop: Some(stop),
            handle: Some(handle),
        })
    }
}

/// The background thread of [`KeyRingReloader::spawn_poller`]. Dropping it stops the thread
/// (and waits for a reload in progress to finish).
#[derive(Debug)]
pub struct ReloadPoller {
    stop: Option<mpsc::Sender<()>>,
    handle: Option<JoinHandle<()>>,
}

impl ReloadPoller {
    /// Stop polling and wait for the thread to finish.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            // The thread may already have stopped; either way it is told to.
            let _ = stop.send(());
        }
        if let Some(handle) = self.handle.take() {
            // A panic in the thread has already been reported by the runtime.
            let _ = handle.join();
        }
    }
}

impl Drop for ReloadPoller {
    fn drop(&mut self) {
        self.shutdown();
    }
}
