//! A timer that holds nothing until it is first set. A connection has several (idle, the
//! close deadline, `--frame idle:MS`, delayed replies) and most are never used: as
//! `tokio::time::Sleep`s in the connection's future they cost 112 bytes each for every idle
//! client; this costs a pointer, and one allocation the first time it is set.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep, sleep_until};

#[derive(Default)]
pub(crate) struct Timer(Option<Pin<Box<Sleep>>>);

impl Timer {
    /// Set to fire `after` from now, or never (unset) when there is no limit.
    pub(crate) fn after(limit: Option<Duration>) -> Timer {
        let mut t = Timer::default();
        if let Some(d) = limit {
            t.set(Instant::now() + d);
        }
        t
    }

    /// Fires at `at` (again, if it had fired).
    pub(crate) fn set(&mut self, at: Instant) {
        match &mut self.0 {
            Some(sleep) => sleep.as_mut().reset(at),
            None => self.0 = Some(Box::pin(sleep_until(at))),
        }
    }

    /// Completes when the time set comes; never, while unset. Ready again at once after
    /// firing until set anew, as a `Sleep` is: callers guard their branch with a flag.
    /// A pointer's worth of future: a `select!` holds one per timer while it waits.
    pub(crate) fn fired(&mut self) -> impl Future<Output = ()> + '_ {
        poll_fn(|cx| self.poll_fired(cx))
    }

    /// [`Timer::fired`], polled by hand.
    pub(crate) fn poll_fired(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        match &mut self.0 {
            Some(sleep) => sleep.as_mut().poll(cx),
            None => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn holds_nothing_until_set_then_fires_at_each_time_set() {
        let mut t = Timer::after(None);
        assert!(t.0.is_none(), "an unset timer holds no Sleep");
        let never = tokio::time::timeout(Duration::from_secs(3600), t.fired()).await;
        assert!(never.is_err(), "an unset timer never fires");

        let start = Instant::now();
        t.set(start + Duration::from_millis(50));
        t.fired().await;
        assert_eq!(Instant::now() - start, Duration::from_millis(50));
        t.set(Instant::now() + Duration::from_millis(20));
        t.fired().await;
        assert_eq!(Instant::now() - start, Duration::from_millis(70));

        let mut idle = Timer::after(Some(Duration::from_secs(2)));
        idle.fired().await;
        assert_eq!(Instant::now() - start, Duration::from_millis(2070));
    }
}
