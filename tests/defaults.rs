//! One default per setting: a session manager, a bare sealer, a cookie policy and a
//! configuration loaded from an empty `[session]` table all start from [`Defaults`].
//!
//! The sealer and the manager once disagreed (14 days against 7): a token's lifetime depended
//! on which of them built it. This test fails if any layer grows its own default again.

use std::time::Duration;

use sealed_session::{
    Codec, CookiePolicy, Defaults, KeyRing, Mode, Sealer, SessionManager, SessionSettings,
};

/// What a sealer's settings read back as, to compare the layers field by field.
#[derive(Debug, PartialEq)]
struct Sealing {
    cookie_name: String,
    mode: Mode,
    purpose: String,
    lifetime: Duration,
    idle_timeout: Option<Duration>,
    refresh_after: Option<Duration>,
    leeway: Duration,
    max_token_len: usize,
    codec: Codec,
}

fn sealing(s: &Sealer) -> Sealing {
    Sealing {
        cookie_name: s.cookie_name().to_owned(),
        mode: s.mode(),
        purpose: s.purpose().to_owned(),
        lifetime: s.lifetime(),
        idle_timeout: s.idle_timeout(),
        refresh_after: s.refresh_after(),
        leeway: s.leeway(),
        max_token_len: s.max_token_len(),
        codec: *s.codec(),
    }
}

/// The values the defaults stand for, written out: the documentation (README, config module,
/// builder docs) quotes these numbers.
fn expected() -> Sealing {
    Sealing {
        cookie_name: "__Host-session".to_owned(),
        mode: Mode::Aes256GcmSiv,
        purpose: "session".to_owned(),
        lifetime: Duration::from_secs(7 * 24 * 3600),
        idle_timeout: Some(Duration::from_secs(2 * 3600)),
        refresh_after: Some(Duration::from_secs(30 * 60)),
        leeway: Duration::from_secs(60),
        max_token_len: 4096,
        codec: Codec::new(),
    }
}

#[test]
fn manager_sealer_and_settings_share_every_default() {
    let manager = SessionManager::builder(KeyRing::generate())
        .build()
        .unwrap();
    let sealer = Sealer::builder(KeyRing::generate(), Defaults::COOKIE_NAME)
        .build()
        .unwrap();
    assert_eq!(sealing(manager.sealer()), expected());
    // A bare sealer shares every default but the two only sessions have: tokens nobody
    // re-seals (CSRF tokens, cache entries) must not idle out.
    assert_eq!(
        sealing(&sealer),
        Sealing {
            idle_timeout: None,
            refresh_after: None,
            ..expected()
        }
    );
    assert_eq!(Mode::default(), Defaults::MODE);
    assert_eq!(Codec::default(), Codec::new());

    let policy = CookiePolicy::builder(Defaults::COOKIE_NAME)
        .build()
        .unwrap();
    assert_eq!(manager.policy(), &policy);

    // Applying the default settings changes nothing.
    let applied = SessionManager::builder(KeyRing::generate())
        .with_settings(SessionSettings::default())
        .build()
        .unwrap();
    assert_eq!(sealing(applied.sealer()), expected());
    assert_eq!(applied.policy(), &policy);

    let s = SessionSettings::default();
    assert_eq!(s.cookie_name, policy.name());
    assert_eq!(s.path, policy.path());
    assert_eq!(s.domain.as_deref(), policy.domain());
    assert_eq!(s.same_site, policy.same_site());
    assert_eq!(s.secure, policy.secure());
    assert_eq!(s.http_only, policy.http_only());
    assert_eq!(s.partitioned, policy.partitioned());
    assert_eq!(s.cookie_lifetime, policy.lifetime());
    assert_eq!(s.chunks, policy.max_chunks());
    assert_eq!(s.mode, sealer.mode());
    assert!(s.also_open.is_empty());
    assert_eq!(s.purpose, sealer.purpose());
    assert_eq!(s.lifetime, sealer.lifetime());
    assert_eq!(s.idle_timeout, manager.sealer().idle_timeout());
    assert_eq!(s.refresh_fraction, 0.25);
    assert_eq!(s.leeway, sealer.leeway());
    assert!(s.delete_rejected);

    // The older names are the same constants.
    assert_eq!(SessionManager::DEFAULT_LIFETIME, Defaults::LIFETIME);
    assert_eq!(
        sealed_session::SealerBuilder::DEFAULT_LIFETIME,
        Defaults::LIFETIME
    );
    assert_eq!(
        Some(SessionManager::DEFAULT_IDLE_TIMEOUT),
        Defaults::IDLE_TIMEOUT
    );
    assert_eq!(SessionManager::DEFAULT_COOKIE_NAME, Defaults::COOKIE_NAME);
}

#[cfg(feature = "config")]
#[test]
fn an_empty_configuration_is_the_defaults() {
    use sealed_session::config::Config;
    use sealed_session::Key;

    let toml = format!(
        "[session]\n\n[[keys.key]]\nsecret = \"{}\"\nstate = \"primary\"\n",
        Key::generate().to_base64().as_str()
    );
    let config = Config::from_toml_str(&toml).unwrap();
    assert_eq!(config.settings(), &SessionSettings::default());
    let manager = config.build_manager().unwrap();
    assert_eq!(sealing(manager.sealer()), expected());
    assert_eq!(
        manager.policy(),
        &CookiePolicy::builder(Defaults::COOKIE_NAME)
            .build()
            .unwrap()
    );
}
