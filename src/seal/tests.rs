//! Unit tests of the sealer: its builder, ring swaps, re-seal codes and counters.
//! Compiled only with `#[cfg(test)]` (the `mod tests;` line of the parent module).

use super::builder::refresh_after;
use super::*;
use crate::keys::Key;

#[test]
fn refresh_after_never_panics_and_refuses_bad_fractions() {
    let hours = |h: u64| Duration::from_secs(h * 3600);
    assert_eq!(
        refresh_after(Some(hours(2)), 0.25).unwrap(),
        Some(hours(2) / 4)
    );
    assert_eq!(refresh_after(Some(hours(2)), 1.0).unwrap(), Some(hours(2)));
    assert_eq!(
        refresh_after(Some(hours(2)), 0.0).unwrap(),
        Some(Duration::ZERO)
    );
    assert_eq!(refresh_after(None, 0.5).unwrap(), None);
    // Regression: `Duration::MAX.mul_f64(1.0)` panics (the product rounds past the maximum).
    assert_eq!(
        refresh_after(Some(Duration::MAX), 1.0).unwrap(),
        Some(Duration::MAX)
    );
    let half = refresh_after(Some(Duration::MAX), 0.5).unwrap().unwrap();
    assert!(
        half <= Duration::MAX / 2 + Duration::from_secs(1),
        "{half:?}"
    );
    assert!(
        half >= Duration::MAX / 2 - Duration::from_secs(1 << 12),
        "{half:?}"
    );
    let tiny = refresh_after(Some(Duration::from_nanos(1)), f64::MIN_POSITIVE).unwrap();
    assert_eq!(tiny, Some(Duration::ZERO));
    for bad in [
        -0.1,
        1.0 + f64::EPSILON,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::MAX,
    ] {
        for idle in [None, Some(Duration::MAX), Some(Duration::ZERO)] {
            let e = refresh_after(idle, bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidConfig, "{bad}");
        }
    }
}

#[test]
fn build_refuses_extreme_durations_without_panicking() {
    let ring = KeyRing::generate();
    let build = |f: fn(SealerBuilder) -> SealerBuilder| {
        f(Sealer::builder(ring.clone(), "id")).build().map(|_| ())
    };
    let refused: [fn(SealerBuilder) -> SealerBuilder; 6] = [
        |b| b.idle_timeout(Some(Duration::MAX)),
        |b| b.idle_timeout(Some(Duration::ZERO)),
        |b| b.idle_timeout(Some(Duration::from_millis(999))),
        |b| b.leeway(Duration::MAX),
        |b| b.lifetime(Duration::MAX),
        |b| b.lifetime(Duration::from_millis(999)),
    ];
    for f in refused {
        assert_eq!(build(f).unwrap_err().kind(), ErrorKind::InvalidConfig);
    }
    let accepted: [fn(SealerBuilder) -> SealerBuilder; 4] = [
        |b| b.refresh_after(Some(Duration::MAX)),
        |b| b.refresh_after(Some(Duration::ZERO)),
        |b| {
            b.leeway(SealerBuilder::MAX_LIFETIME)
                .idle_timeout(Some(SealerBuilder::MAX_LIFETIME))
        },
        |b| {
            b.lifetime(SealerBuilder::MAX_LIFETIME)
                .max_token_len(usize::MAX)
        },
    ];
    for f in accepted {
        build(f).unwrap();
    }
    // The accepted extremes seal and open at the far end of time without overflowing.
    let s = Sealer::builder(ring.clone(), "id")
        .lifetime(SealerBuilder::MAX_LIFETIME)
        .idle_timeout(Some(SealerBuilder::MAX_LIFETIME))
        .leeway(SealerBuilder::MAX_LIFETIME)
        .refresh_after(Some(Duration::MAX))
        .build()
        .unwrap();
    let late = UnixTime::from_secs(u64::MAX - 10);
    assert_eq!(
        s.seal_at(late, &1).unwrap_err().kind(),
        ErrorKind::TimeOverflow
    );
    let now = UnixTime::from_secs(1_700_000_000);
    let token = s.seal_at(now, &1).unwrap();
    assert!(s.open_at::<u8>(now, &token).is_ok());
}

#[test]
fn set_ring_applies_to_every_clone_at_once() {
    let (a, b) = (Key::generate(), Key::generate());
    let sealer = Sealer::builder(KeyRing::builder().primary(a.clone()).build().unwrap(), "id")
        .build()
        .unwrap();
    let clone = sealer.clone();
    let now = UnixTime::from_secs(1_700_000_000);
    let old = sealer.seal_at(now, &1).unwrap();
    clone.set_ring(
        KeyRing::builder()
            .primary(b.clone())
            .older(a)
            .build()
            .unwrap(),
    );
    let opened = sealer.open_at::<i32>(now, &old).unwrap();
    assert_eq!(opened.reseal(), Some(Reseal::RotatedKey));
    let new = sealer.seal_at(now, &2).unwrap();
    assert_eq!(
        sealer.open_at::<i32>(now, &new).unwrap().meta().key_id(),
        b.id()
    );
    clone.set_ring(KeyRing::builder().primary(b).build().unwrap());
    assert_eq!(
        sealer.open_at::<i32>(now, &old).unwrap_err(),
        Rejection::UnknownKey
    );
}

#[test]
fn reseal_codes_are_stable() {
    assert_eq!(Reseal::RotatedKey.as_str(), "rotated_key");
    assert_eq!(Reseal::ModeChanged.to_string(), "mode_changed");
    assert_eq!(Reseal::Refresh.as_str(), "refresh");
}
