//! Flash messages: one-shot messages that survive one redirect.
//!
//! A handler that changes something (a `POST`) [`push`]es a message and redirects; the page it
//! redirects to (a `GET`) [`take`]s the messages, which removes them, so they show once. They
//! live in the session under the reserved key [`FLASH_KEY`], typed through serde, each with a
//! [`FlashLevel`]. They count against the session's cookie budget: [`push`] checks that the
//! session still fits ([`Session::ensure_fits`]) and, if not, leaves the session as it was and
//! returns the error, so a flash never turns into a broken cookie or a `500` at response time.
//!
//! These are functions over [`Session`], so they work the same in every adapter (the
//! [`Session`] extractor of axum and of actix-web).
//!
//! ```
//! use sealed_session::flash::{self, FlashLevel};
//! use sealed_session::Session;
//!
//! let session = Session::new();
//! flash::push(&session, FlashLevel::Info, &"Signed in.")?;
//! let shown = flash::take::<String>(&session)?;
//! assert_eq!(shown.len(), 1);
//! assert_eq!(shown[0].level(), FlashLevel::Info);
//! assert_eq!(shown[0].message(), "Signed in.");
//! assert!(flash::take::<String>(&session)?.is_empty()); // once
//! # Ok::<(), sealed_session::Error>(())
//! ```

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, ErrorKind};
use crate::session::Session;

/// The session key the messages are stored under. Reserved: do not write it yourself.
pub const FLASH_KEY: &str = "_flash";

/// How serious a message is (how a page styles it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum FlashLevel {
    /// Something happened as asked.
    Info,
    /// Something happened, but worth a look.
    Warning,
    /// Something did not happen.
    Error,
}

impl FlashLevel {
    /// `info`, `warning` or `error` (e.g. a CSS class).
    pub fn as_str(self) -> &'static str {
        match self {
            FlashLevel::Info => "info",
            FlashLevel::Warning => "warning",
            FlashLevel::Error => "error",
        }
    }
}

/// One message, as [`take`] returns it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlashMessage<T = String> {
    level: FlashLevel,
    message: T,
}

impl<T> FlashMessage<T> {
    /// A message at `level`.
    pub fn new(level: FlashLevel, message: T) -> Self {
        FlashMessage { level, message }
    }
    /// Its level.
    pub fn level(&self) -> FlashLevel {
        self.level
    }
    /// The message.
    pub fn message(&self) -> &T {
        &self.message
    }
    /// The message, by move.
    pub fn into_message(self) -> T {
        self.message
    }
}

/// Queue `message` at `level` for the next request that [`take`]s them.
///
/// # Errors
/// [`ErrorKind::Codec`] if `message` is not representable as JSON;
/// [`ErrorKind::SessionTooLarge`] (from [`Session::ensure_fits`]) if the session would no longer
/// fit its cookie with it: the message is then not added, and the session is as it was.
pub fn push<T: Serialize + ?Sized>(
    session: &Session,
    level: FlashLevel,
    message: &T,
) -> Result<(), Error> {
    let message = serde_json::to_value(message).map_err(|_| {
        Error::new(
            ErrorKind::Codec,
            "the flash message cannot be represented as JSON",
        )
    })?;
    let previous = session.get_value(FLASH_KEY);
    let mut queue = match &previous {
        Some(Value::Array(items)) => items.clone(),
        // Anything else under the reserved key is not ours to keep.
        _ => Vec::new(),
    };
    queue.push(serde_json::json!({ "level": level, "message": message }));
    session.insert_value(FLASH_KEY, Value::Array(queue));
    if let Err(e) = session.ensure_fits() {
        match previous {
            Some(v) => session.insert_value(FLASH_KEY, v),
            None => {
                session.remove(FLASH_KEY);
            }
        }
        return Err(e);
    }
    Ok(())
}

/// Remove and return the queued messages, oldest first (none: an empty list, and the session is
/// not written).
///
/// # Errors
/// [`ErrorKind::Codec`] if a stored message does not fit `T` (they are removed all the same, so
/// a bad message cannot stick).
pub fn take<T: DeserializeOwned>(session: &Session) -> Result<Vec<FlashMessage<T>>, Error> {
    match session.remove(FLASH_KEY) {
        None => Ok(Vec::new()),
        Some(v) => serde_json::from_value(v).map_err(|_| {
            Error::new(
                ErrorKind::Codec,
                "the flash messages do not match the requested type",
            )
        }),
    }
}

/// The queued messages, without removing them.
///
/// # Errors
/// As [`take`].
pub fn peek<T: DeserializeOwned>(session: &Session) -> Result<Vec<FlashMessage<T>>, Error> {
    match session.get_value(FLASH_KEY) {
        None => Ok(Vec::new()),
        Some(v) => serde_json::from_value(v).map_err(|_| {
            Error::new(
                ErrorKind::Codec,
                "the flash messages do not match the requested type",
            )
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::KeyRing;
    use crate::manager::SessionManager;
    use crate::session::SessionStatus;

    fn manager() -> SessionManager {
        SessionManager::builder(KeyRing::generate())
            .with_cookie_name("id")
            .build()
            .unwrap()
    }

    fn next_request(manager: &SessionManager, session: &Session) -> Session {
        let cookies = manager.finish(session).unwrap();
        let header = cookies
            .iter()
            .filter_map(|c| c.split(';').next())
            .collect::<Vec<_>>()
            .join("; ");
        manager.load_from_cookie_headers([header.as_bytes()])
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Notice {
        code: u32,
        text: String,
    }

    #[test]
    fn a_flash_survives_one_redirect_and_shows_once() {
        let manager = manager();
        let post = manager.load(&http::HeaderMap::new());
        post.insert("user", &"ann").unwrap();
        push(&post, FlashLevel::Info, &"Signed in.").unwrap();
        push(&post, FlashLevel::Warning, &"Password expires soon.").unwrap();
        let get = next_request(&manager, &post);
        let shown = take::<String>(&get).unwrap();
        assert_eq!(
            shown,
            vec![
                FlashMessage::new(FlashLevel::Info, "Signed in.".to_owned()),
                FlashMessage::new(FlashLevel::Warning, "Password expires soon.".to_owned()),
            ]
        );
        assert_eq!(get.status(), SessionStatus::Changed);
        let again = next_request(&manager, &get);
        assert!(take::<String>(&again).unwrap().is_empty());
        assert_eq!(again.status(), SessionStatus::Unchanged);
        assert_eq!(again.get::<String>("user").unwrap().as_deref(), Some("ann"));
    }

    #[test]
    fn messages_are_typed_and_levels_serialize_lowercase() {
        let s = Session::new();
        let notice = Notice {
            code: 7,
            text: "<b>".into(),
        };
        push(&s, FlashLevel::Error, &notice).unwrap();
        assert_eq!(
            s.get_value(FLASH_KEY).unwrap(),
            serde_json::json!([{"level": "error", "message": {"code": 7, "text": "<b>"}}])
        );
        assert_eq!(peek::<Notice>(&s).unwrap().len(), 1);
        assert_eq!(take::<String>(&s).unwrap_err().kind(), ErrorKind::Codec);
        assert!(!s.contains(FLASH_KEY), "a bad message does not stick");
    }

    #[test]
    fn a_flash_that_does_not_fit_is_an_error_and_changes_nothing() {
        let manager = manager();
        let session = manager.load(&http::HeaderMap::new());
        push(&session, FlashLevel::Info, &"small").unwrap();
        let before = session.get_value(FLASH_KEY);
        let e = push(&session, FlashLevel::Info, &"x".repeat(5000)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::SessionTooLarge);
        assert_eq!(session.get_value(FLASH_KEY), before);
        assert!(manager.finish(&session).is_ok(), "the cookie still fits");
        let fresh = manager.load(&http::HeaderMap::new());
        assert!(push(&fresh, FlashLevel::Info, &"x".repeat(5000)).is_err());
        assert!(!fresh.contains(FLASH_KEY));
        assert!(manager.finish(&fresh).unwrap().is_empty());
    }

    #[test]
    fn a_foreign_value_under_the_key_is_replaced() {
        let s = Session::new();
        s.insert(FLASH_KEY, &"not a list").unwrap();
        push(&s, FlashLevel::Info, &"hi").unwrap();
        assert_eq!(take::<String>(&s).unwrap().len(), 1);
    }
}
