//! [`TypedSession`]: a whole serde struct as the session, for applications that prefer one type
//! to a map of keys.

use std::fmt;
use std::marker::PhantomData;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{Error, ErrorKind};
use crate::session::Session;

/// Keys the crate itself keeps in a session (user binding, CSRF state, flash messages): a typed
/// session reads past them and never removes them.
const RESERVED_PREFIX: &str = "sealed_session.";

/// The session's entries as one `T`: each field of `T` is one entry (so a struct's fields and
/// `Session::get` see the same data). The axum and actix-web adapters extract it like
/// [`Session`].
///
/// ```
/// use sealed_session::{Session, TypedSession};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize, Default, PartialEq, Debug)]
/// struct Visit { user: Option<String>, count: u64 }
///
/// let typed = TypedSession::<Visit>::new(Session::new());
/// assert_eq!(typed.get()?, None); // nothing stored yet
/// let mut visit = typed.get_or_default()?;
/// visit.count += 1;
/// typed.set(&visit)?;
/// assert_eq!(typed.session().get::<u64>("count")?, Some(1));
/// # Ok::<(), sealed_session::Error>(())
/// ```
pub struct TypedSession<T> {
    session: Session,
    data: PhantomData<fn() -> T>,
}

impl<T> Clone for TypedSession<T> {
    fn clone(&self) -> Self {
        TypedSession::new(self.session.clone())
    }
}

impl<T> fmt::Debug for TypedSession<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TypedSession")
            .field("session", &self.session)
            .finish()
    }
}

impl<T> TypedSession<T> {
    /// A typed view of `session`.
    pub fn new(session: Session) -> Self {
        TypedSession {
            session,
            data: PhantomData,
        }
    }

    /// The untyped session (renew, purge, metadata).
    pub fn session(&self) -> &Session {
        &self.session
    }
}

impl<T: Serialize + DeserializeOwned> TypedSession<T> {
    /// The session's entries as a `T`; `None` when the session holds no entry of its own.
    ///
    /// # Errors
    /// [`ErrorKind::Codec`] if the entries do not make a `T`.
    pub fn get(&self) -> Result<Option<T>, Error> {
        let map: Map<String, Value> = self
            .session
            .entries()
            .into_iter()
            .filter(|(k, _)| !k.starts_with(RESERVED_PREFIX))
            .collect();
        if map.is_empty() {
            return Ok(None);
        }
        serde_json::from_value(Value::Object(map))
            .map(Some)
            .map_err(|_| {
                Error::new(
                    ErrorKind::Codec,
                    "the session's entries do not match the requested type",
                )
            })
    }

    /// [`get`](Self::get), or `T::default()` when the session is empty.
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub fn get_or_default(&self) -> Result<T, Error>
    where
        T: Default,
    {
        self.get().map(Option::unwrap_or_default)
    }

    /// Store `value` as the session's entries: each field becomes an entry, and entries that are
    /// no longer fields are removed (the crate's own reserved entries stay). Fields equal to the
    /// stored ones change nothing, so an unchanged value sends no cookie.
    ///
    /// # Errors
    /// [`ErrorKind::Codec`] if `value` is not a JSON object (a struct or a map).
    pub fn set(&self, value: &T) -> Result<(), Error> {
        let Ok(Value::Object(map)) = serde_json::to_value(value) else {
            return Err(Error::new(
                ErrorKind::Codec,
                "a typed session must serialize to a JSON object (a struct or a map)",
            ));
        };
        for key in self.session.keys() {
            if !key.starts_with(RESERVED_PREFIX) && !map.contains_key(&key) {
                self.session.remove(&key);
            }
        }
        for (key, value) in map {
            self.session.insert_value(key, value);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::SessionStatus;
    use serde::Deserialize;

    #[derive(Serialize, Deserialize, Default, PartialEq, Debug)]
    struct Cart {
        items: Vec<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        coupon: Option<String>,
    }

    #[test]
    fn fields_are_entries_and_reserved_keys_stay() {
        let session = Session::new();
        session.insert("sealed_session.user", &"binding").unwrap();
        let typed = TypedSession::<Cart>::new(session.clone());
        assert_eq!(typed.get().unwrap(), None);
        let cart = Cart {
            items: vec!["a".into()],
            coupon: Some("X".into()),
        };
        typed.set(&cart).unwrap();
        assert_eq!(typed.get().unwrap(), Some(cart));
        typed.set(&Cart::default()).unwrap();
        assert!(!session.contains("coupon"));
        assert!(session.contains("sealed_session.user"));
        assert_eq!(typed.get_or_default().unwrap(), Cart::default());
    }

    #[test]
    fn mismatches_are_typed_errors_and_equal_values_change_nothing() {
        let session = Session::new();
        session.insert("items", &3).unwrap();
        let typed = TypedSession::<Cart>::new(session.clone());
        assert_eq!(typed.get().unwrap_err().kind(), ErrorKind::Codec);
        let session = Session::new();
        let typed = TypedSession::<Cart>::new(session.clone());
        typed.set(&Cart::default()).unwrap();
        assert_eq!(session.status(), SessionStatus::Changed);
        let typed_bad = TypedSession::<u32>::new(session);
        assert_eq!(typed_bad.set(&1).unwrap_err().kind(), ErrorKind::Codec);
    }
}
