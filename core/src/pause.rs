//! Pausing a running sync and resuming it, within the same run.
//!
//! While paused nothing new starts: no Drive request is sent, no download begins, no upload
//! batch is handed to rclone. A download under way holds between two pieces (and continues
//! from there, with Range if the connection was dropped meanwhile). An upload job already
//! given to rclone finishes and is verified as usual, so no byte it sent is sent again and
//! nothing is recorded synced that was not verified.

use std::sync::Arc;

use tokio::sync::watch;

#[derive(Debug, Clone)]
pub struct Pause {
    paused: Arc<watch::Sender<bool>>,
}

impl Default for Pause {
    fn default() -> Self {
        Self { paused: Arc::new(watch::Sender::new(false)) }
    }
}

impl Pause {
    /// Pauses; false when it already was.
    pub fn pause(&self) -> bool {
        !self.paused.send_replace(true)
    }

    /// Resumes; false when it was not paused.
    pub fn resume(&self) -> bool {
        self.paused.send_replace(false)
    }

    pub fn is_paused(&self) -> bool {
        *self.paused.borrow()
    }

    /// Returns at once when not paused, else when resumed.
    pub async fn until_resumed(&self) {
        // Called for every piece of every download: no receiver is made unless paused.
        if !self.is_paused() {
            return;
        }
        let mut paused = self.paused.subscribe();
        // The sender lives as long as `self`, so `wait_for` ends only by a resume.
        let _ = paused.wait_for(|p| !*p).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn a_paused_switch_holds_until_resumed() {
        let pause = Pause::default();
        pause.until_resumed().await; // not paused: no wait
        assert!(pause.pause());
        assert!(!pause.pause(), "already paused");
        let waiter = tokio::spawn({
            let pause = pause.clone();
            async move { pause.until_resumed().await }
        });
        tokio::time::sleep(Duration::from_secs(3600)).await;
        assert!(!waiter.is_finished(), "held while paused");
        assert!(pause.resume());
        waiter.await.unwrap();
        assert!(!pause.resume(), "was not paused");
    }
}
