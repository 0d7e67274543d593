//! Single-flight: one creation per key at a time, whose outcome every waiter receives.
//!
//! A [`Flight`] is the shared state of one creation. The caller that registered it (the leader)
//! runs the creator and publishes an [`Outcome`]; everyone else waits for that outcome, either by
//! blocking ([`Flight::wait`]) or as a future ([`Flight::wait_async`]). Both kinds of waiter can
//! wait on the same flight, so sync and async callers of one cache coalesce with each other.
//!
//! The leader holds its flight through a guard (in the cache module) whose `Drop` publishes
//! [`Outcome::Abandoned`] if the creator panicked or its future was dropped: waiters then retry
//! instead of waiting forever, which is how a failed leader never wedges a key.

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::thread::ThreadId;

use super::entry::Stored;
use crate::error::Error;

/// How a creation ended.
#[derive(Clone)]
pub(crate) enum Outcome {
    /// The value, encoded (and sealed, if the cache seals) as it is stored.
    Ready(Stored),
    /// The creator's error, an `Arc<E>` with `E` erased; waiters downcast it back.
    Failed(Arc<dyn Any + Send + Sync>),
    /// The value was created but the codec refused it (too large, not representable).
    Refused(Error),
    /// The leader panicked or was cancelled before publishing: retry.
    Abandoned,
}

enum State {
    Running {
        /// Async waiters to wake, by waiter id so that re-polling replaces rather than grows.
        wakers: Vec<(u64, Waker)>,
        next_waiter: u64,
    },
    Done(Outcome),
}

/// One creation in progress.
pub(crate) struct Flight {
    state: Mutex<State>,
    done: Condvar,
    /// The thread of a blocking leader: a blocking wait from that same thread can only come from
    /// inside its own creator, and would wait for itself forever.
    leader_thread: Option<ThreadId>,
}

impl Flight {
    pub(crate) fn new(leader_thread: Option<ThreadId>) -> Self {
        Flight {
            state: Mutex::new(State::Running {
                wakers: Vec::new(),
                next_waiter: 0,
            }),
            done: Condvar::new(),
            leader_thread,
        }
    }

    /// Whether the current thread is this flight's blocking leader.
    pub(crate) fn is_led_by_this_thread(&self) -> bool {
        self.leader_thread == Some(std::thread::current().id())
    }

    /// The state, whether or not a thread panicked while holding the lock: no code here panics
    /// under the lock, and every state is valid, so a poisoned lock is still consistent.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Publish the outcome and wake every waiter. The first outcome wins; later ones are ignored.
    pub(crate) fn complete(&self, outcome: Outcome) {
        let wakers = {
            let mut state = self.lock();
            match &mut *state {
                State::Done(_) => return,
                State::Running { wakers, .. } => {
                    let wakers = std::mem::take(wakers);
                    *state = State::Done(outcome);
                    wakers
                }
            }
        };
        self.done.notify_all();
        // Woken outside the lock: a waker may run the waiting task inline.
        for (_, waker) in wakers {
            waker.wake();
        }
    }

    /// Block until the outcome is published.
    pub(crate) fn wait(&self) -> Outcome {
        let mut state = self.lock();
        loop {
            if let State::Done(outcome) = &*state {
                return outcome.clone();
            }
            state = self
                .done
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// The outcome, as a future.
    pub(crate) fn wait_async(self: &Arc<Self>) -> Wait {
        Wait {
            flight: Arc::clone(self),
            waiter: None,
        }
    }

    #[cfg(test)]
    fn registered_wakers(&self) -> usize {
        match &*self.lock() {
            State::Running { wakers, .. } => wakers.len(),
            State::Done(_) => 0,
        }
    }
}

/// A future resolving to a flight's [`Outcome`]. Dropping it unregisters its waker.
pub(crate) struct Wait {
    flight: Arc<Flight>,
    waiter: Option<u64>,
}

impl Future for Wait {
    type Output = Outcome;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Outcome> {
        let this = &mut *self;
        let mut state = this.flight.lock();
        match &mut *state {
            State::Done(outcome) => Poll::Ready(outcome.clone()),
            State::Running {
                wakers,
                next_waiter,
            } => {
                let registered = this
                    .waiter
                    .and_then(|id| wakers.iter_mut().find(|(w, _)| *w == id));
                match registered {
                    Some((_, waker)) => waker.clone_from(cx.waker()),
                    None => {
                        let id = *next_waiter;
                        *next_waiter = next_waiter.wrapping_add(1);
                        wakers.push((id, cx.waker().clone()));
                        this.waiter = Some(id);
                    }
                }
                Poll::Pending
            }
        }
    }
}

impl Drop for Wait {
    fn drop(&mut self) {
        if let Some(id) = self.waiter {
            if let State::Running { wakers, .. } = &mut *self.flight.lock() {
                wakers.retain(|(w, _)| *w != id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::pin::pin;

    fn poll_once(fut: Pin<&mut Wait>) -> Poll<Outcome> {
        fut.poll(&mut Context::from_waker(Waker::noop()))
    }

    #[test]
    fn first_outcome_wins_and_blocking_waiters_wake() {
        let flight = Arc::new(Flight::new(None));
        let waiter = {
            let f = Arc::clone(&flight);
            std::thread::spawn(move || matches!(f.wait(), Outcome::Abandoned))
        };
        flight.complete(Outcome::Abandoned);
        flight.complete(Outcome::Failed(Arc::new(1u8)));
        assert!(waiter.join().unwrap_or(false));
        assert!(matches!(flight.wait(), Outcome::Abandoned));
    }

    #[test]
    fn async_waiters_register_once_and_unregister_on_drop() {
        let flight = Arc::new(Flight::new(None));
        {
            let mut w = pin!(flight.wait_async());
            assert!(poll_once(w.as_mut()).is_pending());
            assert!(poll_once(w.as_mut()).is_pending());
            assert_eq!(flight.registered_wakers(), 1);
        }
        assert_eq!(flight.registered_wakers(), 0);
        let mut w = pin!(flight.wait_async());
        assert!(poll_once(w.as_mut()).is_pending());
        flight.complete(Outcome::Abandoned);
        assert!(matches!(
            poll_once(w.as_mut()),
            Poll::Ready(Outcome::Abandoned)
        ));
    }

    #[test]
    fn knows_its_blocking_leader() {
        assert!(Flight::new(Some(std::thread::current().id())).is_led_by_this_thread());
        assert!(!Flight::new(None).is_led_by_this_thread());
    }
}
