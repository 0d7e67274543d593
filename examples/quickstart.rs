//! Seal a session, open it, rotate the key and open it again: the crate's core in one screen.
//!
//! ```text
//! cargo run --example quickstart
//! ```

use sealed_session::{Defaults, Key, KeyRing, Mode, Rejection, Sealer, UnixTime};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
struct SessionData {
    user: String,
    roles: Vec<String>,
    visits: u32,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A fresh key ring: fine for a demo, but sessions would not survive a restart. Real
    // deployments load keys from configuration.
    let first_key = Key::generate();
    let ring = KeyRing::builder().primary(first_key.clone()).build()?;
    let sealer = Sealer::builder(ring, Defaults::COOKIE_NAME).build()?;
    println!("key ring: {:?}", sealer.ring());
    println!("mode:     {} (default)", sealer.mode());

    let now = UnixTime::now();
    let data = SessionData {
        user: "ann".into(),
        roles: vec!["reader".into()],
        visits: 1,
    };
    let token = sealer.seal_at(now, &data)?;
    println!("\ntoken ({} characters):\n{token}\n", token.len());

    let opened = sealer.open_at::<SessionData>(now, &token)?;
    let meta = opened.meta();
    println!("opened:   {:?}", opened.value());
    println!("mode:     {}", meta.mode());
    println!("key id:   {}", meta.key_id());
    println!("created:  {}", meta.created());
    println!("issued:   {}", meta.issued());
    // Defaults::LIFETIME, the same 7 days a SessionManager and an empty config file use.
    println!(
        "expires:  {} (created + {:?})",
        meta.expires(),
        sealer.lifetime()
    );
    println!("re-seal:  {:?}", opened.reseal());

    // Rotate: a new primary key, the old one kept so existing cookies still open.
    let rotated = KeyRing::builder()
        .primary(Key::generate())
        .older(first_key)
        .build()?;
    let sealer2 = Sealer::builder(rotated, Defaults::COOKIE_NAME).build()?;
    let opened = sealer2.open_at::<SessionData>(now, &token)?;
    println!(
        "\nafter rotation the old token opens, re-seal hint: {:?}",
        opened.reseal()
    );
    let resealed = sealer2.reseal_at(now, opened.value(), opened.meta())?;
    let again = sealer2.open_at::<SessionData>(now, &resealed)?;
    println!(
        "re-sealed under key {}, hint now: {:?}",
        again.meta().key_id(),
        again.reseal()
    );

    // Hostile input is a typed rejection, never a panic.
    // Change one character in the middle of the token.
    let mid = token.len() / 2;
    let swapped = if token.as_bytes().get(mid) == Some(&b'A') {
        "B"
    } else {
        "A"
    };
    let tampered = format!("{}{swapped}{}", &token[..mid], &token[mid + 1..]);
    let cases = [
        ("tampered", tampered.as_str()),
        ("garbage", "not a token"),
        ("empty", ""),
    ];
    println!();
    for (what, t) in cases {
        let r: Rejection = match sealer2.open_at::<SessionData>(now, t) {
            Ok(_) => continue,
            Err(r) => r,
        };
        println!("{what:>9}: rejected ({r})");
    }
    let signed = Sealer::builder(KeyRing::generate(), Defaults::COOKIE_NAME)
        .mode(Mode::Signed)
        .build()?;
    let readable = signed.seal_at(now, &data)?;
    // In signed mode, the payload sits in clear between the 30-byte header + envelope prefix
    // and the 32-byte tag.
    let bytes =
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, &readable)?;
    let payload = bytes
        .get(30..bytes.len().saturating_sub(32))
        .unwrap_or_default();
    println!(
        "\nsigned mode is readable by anyone: {}",
        String::from_utf8_lossy(payload)
    );
    Ok(())
}
