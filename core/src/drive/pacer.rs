//! Client-side pacing of Drive requests: a token bucket, so Fanout stays under the per-user
//! quota by itself instead of learning it from 403 `userRateLimitExceeded` answers.

use std::time::Duration;

use tokio::sync::Mutex;
// tokio's clock, so tests can run the pacer on paused time.
use tokio::time::Instant;

#[derive(Debug)]
pub struct Pacer {
    per_second: f64,
    burst: f64,
    /// Tokens available, as of the instant.
    bucket: Mutex<(f64, Instant)>,
}

impl Pacer {
    pub fn new(per_second: f64, burst: u32) -> Self {
        let burst = f64::from(burst.max(1));
        Self { per_second: per_second.max(0.1), burst, bucket: Mutex::new((burst, Instant::now())) }
    }

    /// Waits until a request may go out.
    pub async fn wait(&self) {
        loop {
            let shortfall = {
                let mut bucket = self.bucket.lock().await;
                let now = Instant::now();
                let refill = now.duration_since(bucket.1).as_secs_f64() * self.per_second;
                *bucket = ((bucket.0 + refill).min(self.burst), now);
                if bucket.0 >= 1.0 {
                    bucket.0 -= 1.0;
                    return;
                }
                1.0 - bucket.0
            };
            tokio::time::sleep(Duration::from_secs_f64(shortfall / self.per_second)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_burst_goes_at_once_then_requests_are_spaced_by_the_rate() {
        let pacer = Pacer::new(10.0, 3);
        let start = Instant::now();
        for _ in 0..3 {
            pacer.wait().await;
        }
        assert!(start.elapsed() < Duration::from_millis(5), "the burst is immediate");
        pacer.wait().await;
        pacer.wait().await;
        let waited = start.elapsed();
        assert!(waited >= Duration::from_millis(190) && waited < Duration::from_millis(260), "{waited:?}");
    }
}
