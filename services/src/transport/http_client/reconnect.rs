//! When and how often an SSE stream is resumed, and how the transport waits
//! (injectable, so tests decide when a wait is over instead of sleeping).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

type SleepFn = dyn Fn(Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync;

/// How an SSE stream that ended (or broke) before it was done is resumed.
///
/// The wait before a reconnection is the server's `retry` value when it sent
/// one (MCP "Transports": the client MUST respect it), else
/// `initial_delay × growth^attempt`, at most `max_delay`; when a
/// reconnection fails again the wait grows the same way, never below the
/// server's `retry`. A stream that delivered something (an event, a new
/// event ID) resets the count; after `max_attempts` reconnections in a row
/// that delivered nothing the stream is given up (a waiting request then
/// fails with an error).
///
/// Defaults: 1 s, growth 1.5, at most 30 s, 5 attempts, `tokio::time::sleep`.
#[derive(Clone)]
pub struct ReconnectPolicy {
    initial_delay: Duration,
    max_delay: Duration,
    growth: f64,
    max_attempts: u32,
    sleep: Arc<SleepFn>,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        Self {
            initial_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
            growth: 1.5,
            max_attempts: 5,
            sleep: Arc::new(|delay| Box::pin(tokio::time::sleep(delay))),
        }
    }
}

impl ReconnectPolicy {
    /// The default policy.
    pub fn new() -> Self {
        Self::default()
    }

    /// A policy that never reconnects.
    pub fn never() -> Self {
        Self::default().max_attempts(0)
    }

    /// The wait before the first reconnection when the server sent no `retry`.
    #[must_use]
    pub fn initial_delay(mut self, delay: Duration) -> Self {
        self.initial_delay = delay;
        self
    }

    /// The longest computed wait.
    #[must_use]
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// How much the wait grows per failed attempt (at least 1).
    #[must_use]
    pub fn growth(mut self, factor: f64) -> Self {
        self.growth = if factor.is_finite() && factor >= 1.0 {
            factor
        } else {
            1.0
        };
        self
    }

    /// How many reconnections in a row may deliver nothing before the
    /// stream is given up.
    #[must_use]
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// Waits with `sleep` instead of `tokio::time::sleep`: tests pass a
    /// function that records the delay and returns when they say so.
    #[must_use]
    pub fn sleep_with<F, Fut>(mut self, sleep: F) -> Self
    where
        F: Fn(Duration) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.sleep = Arc::new(move |delay| Box::pin(sleep(delay)));
        self
    }

    /// The most reconnections in a row that deliver nothing.
    pub fn attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The wait before reconnection number `attempt` (0 for the first after
    /// the stream ended) given the server's `retry`.
    pub fn delay(&self, attempt: u32, server_retry: Option<Duration>) -> Duration {
        if attempt == 0 {
            if let Some(retry) = server_retry {
                return retry;
            }
        }
        let exponent = i32::try_from(attempt).unwrap_or(i32::MAX);
        let grown = self.initial_delay.as_secs_f64() * self.growth.powi(exponent);
        let backoff = Duration::try_from_secs_f64(grown)
            .unwrap_or(self.max_delay)
            .min(self.max_delay);
        backoff.max(server_retry.unwrap_or(Duration::ZERO))
    }

    pub(super) fn sleep(&self, delay: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        (self.sleep)(delay)
    }
}

impl fmt::Debug for ReconnectPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReconnectPolicy")
            .field("initial_delay", &self.initial_delay)
            .field("max_delay", &self.max_delay)
            .field("growth", &self.growth)
            .field("max_attempts", &self.max_attempts)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays() {
        let policy = ReconnectPolicy::new();
        assert_eq!(policy.delay(0, None), Duration::from_secs(1));
        assert_eq!(policy.delay(1, None), Duration::from_millis(1500));
        assert_eq!(policy.delay(2, None), Duration::from_millis(2250));
        assert_eq!(policy.delay(40, None), Duration::from_secs(30));
        assert_eq!(policy.delay(u32::MAX, None), Duration::from_secs(30));
        // The server's retry is used as is first, then as a floor.
        let retry = Some(Duration::from_millis(200));
        assert_eq!(policy.delay(0, retry), Duration::from_millis(200));
        assert_eq!(policy.delay(1, retry), Duration::from_millis(1500));
        let long = Some(Duration::from_secs(60));
        assert_eq!(policy.delay(3, long), Duration::from_secs(60));
        assert_eq!(
            ReconnectPolicy::new().growth(f64::NAN).delay(5, None),
            Duration::from_secs(1)
        );
    }
}
