//! Properties of rows 27 and 34, over arbitrary session data and arbitrary valid cookie policies.

use super::*;

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// An arbitrary valid cookie policy, applied to a session builder: name, Path, Domain,
/// SameSite, Secure (forced where a prefix, SameSite=None or Partitioned requires it), HttpOnly,
/// Partitioned, lifetime and chunking.
#[derive(Debug, Clone)]
struct PolicyCase {
    name: String,
    path: String,
    domain: Option<String>,
    same_site: SameSite,
    secure: bool,
    http_only: bool,
    partitioned: bool,
    lifetime: Option<u64>,
    chunks: Option<usize>,
    mode: Mode,
}

impl PolicyCase {
    fn apply(&self, b: SessionBuilder) -> SessionBuilder {
        let mut b = b
            .with_cookie_name(self.name.clone())
            .with_path(self.path.clone())
            .with_same_site(self.same_site)
            .with_secure(self.secure)
            .with_http_only(self.http_only)
            .with_partitioned(self.partitioned)
            .with_chunking(self.chunks.map(Chunking::new))
            .with_mode(self.mode)
            .with_cookie_lifetime(match self.lifetime {
                None => CookieLifetime::BrowserSession,
                Some(s) => CookieLifetime::Persistent(secs(s)),
            });
        if let Some(d) = &self.domain {
            b = b.with_domain(d.clone());
        }
        b
    }
}

fn policy_case() -> impl Strategy<Value = PolicyCase> {
    let name = prop_oneof![
        "[A-Za-z0-9!#$%&'*+.^_`|~-]{1,40}",
        "__Host-[a-z]{1,10}",
        "__Secure-[a-z]{1,10}",
    ];
    let path = prop_oneof![
        Just("/".to_owned()),
        "/[\\x21-\\x2b\\x2d-\\x3a\\x3c-\\x7e]{0,80}"
    ];
    let domain = prop::option::of(prop_oneof![
        "[a-z0-9]{1,20}(\\.[a-z0-9]{1,20}){0,3}",
        "\\.[a-z]{1,10}\\.com",
        "[a-z]{60}\\.[a-z]{60}\\.[a-z]{60}\\.[a-z]{60}",
    ]);
    let same_site = prop_oneof![
        Just(SameSite::Strict),
        Just(SameSite::Lax),
        Just(SameSite::None)
    ];
    (
        name,
        path,
        domain,
        same_site,
        any::<[bool; 3]>(),
        prop::option::of(0u64..100_000_000),
        prop::option::of(2usize..=16),
        0usize..4,
    )
        .prop_map(
            |(
                name,
                path,
                domain,
                same_site,
                [secure, http_only, partitioned],
                lifetime,
                chunks,
                m,
            )| {
                let host = name.to_ascii_lowercase().starts_with("__host-");
                let needs_secure = host
                    || name.to_ascii_lowercase().starts_with("__secure-")
                    || same_site == SameSite::None
                    || partitioned;
                PolicyCase {
                    path: if host { "/".to_owned() } else { path },
                    domain: if host { None } else { domain },
                    secure: secure || needs_secure,
                    name,
                    same_site,
                    http_only,
                    partitioned,
                    lifetime,
                    chunks,
                    mode: Mode::ALL[m],
                }
            },
        )
}

fn session_data() -> impl Strategy<Value = Vec<(String, Value)>> {
    let value = prop_oneof![
        "[a-zA-Z0-9 ]{0,200}".prop_map(Value::from),
        "\\PC{0,100}".prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (0usize..7000).prop_map(|n| Value::from("v".repeat(n))),
        prop::collection::vec(any::<u16>(), 0..200).prop_map(Value::from),
    ];
    prop::collection::vec(("[a-z_]{1,16}", value), 0..6)
}

proptest! {
    #![proptest_config(config(96))]

    /// Row 27 (property): under arbitrary limits, the sealer either refuses with
    /// `PayloadTooLarge` or produces a token whose plaintext is within the limit.
    #[test]
    fn checklist_27_property_sealer_never_exceeds_the_plaintext_limit(
        m in 0usize..4,
        len in 0usize..3000,
        max_bytes in 0usize..3000,
    ) {
        let mode = Mode::ALL[m];
        let s = Sealer::builder(RING.clone(), NAME)
            .mode(mode)
            .codec(Codec::new().with_max_bytes(max_bytes))
            .max_token_len(1 << 16)
            .build()
            .unwrap();
        let value = "p".repeat(len);
        match s.seal_at(T0, &value) {
            Ok(token) => {
                let plaintext = unb64(&token).len() - mode.overhead();
                prop_assert!(plaintext <= max_bytes, "{} > {}", plaintext, max_bytes);
                prop_assert_eq!(plaintext, len + 2);
            }
            Err(e) => {
                prop_assert_eq!(e.kind(), ErrorKind::PayloadTooLarge);
                prop_assert!(len + 2 > max_bytes);
            }
        }
    }

    /// Row 34 (property): through `SessionManager::finish_at`, with arbitrary session data and
    /// arbitrary valid cookie policies, every rendered `Set-Cookie` is at most 4096 bytes and
    /// complete (it parses back with the policy's name and opens to the data), or the result
    /// is `SessionTooLarge`; a session with under 1500 bytes of data always fits.
    #[test]
    fn checklist_34_property_set_cookie_never_over_4096_without_an_error(
        case in policy_case(),
        data in session_data(),
    ) {
        let c = clock();
        let m = case
            .apply(SessionManager::builder(RING.clone()).with_clock(Arc::clone(&c) as _))
            .build()
            .map_err(|e| TestCaseError::fail(format!("a valid policy was refused: {e}")))?;
        let s = m.load_from_cookie_headers(std::iter::empty::<&[u8]>());
        for (k, v) in &data {
            s.insert_value(k.clone(), v.clone());
        }
        let data_len = serde_json::to_vec(&s.entries()).unwrap().len();
        match m.finish_at(T0, &s) {
            Ok(out) => {
                let mut header = String::new();
                for (i, raw) in out.iter().enumerate() {
                    prop_assert!(raw.len() <= MAX_SET_COOKIE_LEN, "{} bytes", raw.len());
                    let cookie = Cookie::parse(raw.as_str()).unwrap();
                    prop_assert_eq!(cookie.name(), m.policy().chunk_name(i));
                    prop_assert_eq!(cookie.path(), Some(m.policy().path()));
                    header.push_str(&format!("{}={}; ", cookie.name(), cookie.value()));
                }
                if !data.is_empty() || s.id().is_some() {
                    let back = m.load_from_cookie_headers([header.as_bytes()]);
                    prop_assert_eq!(back.entries(), s.entries());
                }
            }
            Err(e) => {
                prop_assert_eq!(e.kind(), ErrorKind::SessionTooLarge, "{}", e);
                prop_assert!(data_len >= 1500, "refused {} bytes of data", data_len);
            }
        }
    }
}
