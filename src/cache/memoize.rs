//! Memoization: a function's result cached under a key the caller builds from the arguments that
//! matter.
//!
//! Beaker's decorators keyed on every argument's `str()`, so a connection or a logger in the
//! argument list either broke caching (a new `repr` per call) or had to be moved out of the
//! signature. Here the key is whatever the key function returns: arguments it ignores do not
//! take part, and it returns a structured value, never a joined string.

use std::fmt;
use std::future::Future;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{CacheKey, CreateError, MemoryStore, Namespace, Store};

/// A function whose results are cached in a [`Namespace`]; made by [`Namespace::memoize`].
///
/// Calls go through [`Namespace::get_or_create`] (or its async form), so concurrent calls with the
/// same key run the function once, and every other call gets the result or the error. Over a
/// shared store only [`call_async`](Self::call_async) exists.
pub struct Memoized<K, V, KF, F, S = MemoryStore> {
    namespace: Namespace<K, V, S>,
    key_of: KF,
    function: F,
}

impl<K, V, KF, F, S> Memoized<K, V, KF, F, S> {
    pub(crate) fn new(namespace: Namespace<K, V, S>, key_of: KF, function: F) -> Self {
        Memoized {
            namespace,
            key_of,
            function,
        }
    }

    /// The namespace the results live in (to invalidate or clear them).
    pub fn namespace(&self) -> &Namespace<K, V, S> {
        &self.namespace
    }
}

impl<K, V, KF, F> Memoized<K, V, KF, F>
where
    K: CacheKey,
    V: Serialize + DeserializeOwned,
{
    /// Call the function, or return its cached result for these arguments' key.
    ///
    /// # Errors
    /// As [`Namespace::get_or_create`].
    pub fn call<A, E>(&self, args: A) -> Result<V, CreateError<E>>
    where
        KF: Fn(&A) -> K,
        F: Fn(A) -> Result<V, E>,
        E: Send + Sync + 'static,
    {
        let key = (self.key_of)(&args);
        self.namespace.get_or_create(&key, || (self.function)(args))
    }
}

impl<K, V, KF, F, S> Memoized<K, V, KF, F, S>
where
    K: CacheKey,
    V: Serialize + DeserializeOwned,
    S: Store,
{
    /// The async form of [`call`](Self::call), for a function returning a future.
    ///
    /// # Errors
    /// As [`Namespace::get_or_create_async`].
    pub async fn call_async<A, E, Fut>(&self, args: A) -> Result<V, CreateError<E>>
    where
        KF: Fn(&A) -> K,
        F: Fn(A) -> Fut,
        Fut: Future<Output = Result<V, E>>,
        E: Send + Sync + 'static,
    {
        let key = (self.key_of)(&args);
        self.namespace
            .get_or_create_async(&key, || (self.function)(args))
            .await
    }
}

impl<K, V, KF, F, S> fmt::Debug for Memoized<K, V, KF, F, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Memoized")
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}
