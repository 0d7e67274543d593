//! The revocation suite (`tests/common/revocation_suite.rs`) over [`MemoryRevocations`]: the
//! store that works without Redis, for one process, tests and small deployments. The same cases
//! run over Redis in `tests/redis.rs`.

#[path = "common/revocation_suite.rs"]
mod revocation_suite;

use std::sync::Arc;

use sealed_session::revocation::{MemoryRevocations, RevocationStore};

async fn setup() -> Option<revocation_suite::Setup> {
    let store: Arc<dyn RevocationStore> = Arc::new(MemoryRevocations::new());
    Some(revocation_suite::Setup {
        guard: Box::new(()),
        store: Box::new(move || {
            let store = Arc::clone(&store);
            Box::pin(async move { store })
        }),
    })
}

revocation_suite!(setup);
