//! Progress of a sync, sent on a channel and throttled to a few events per second.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::mpsc::UnboundedSender;

const MIN_INTERVAL: Duration = Duration::from_millis(250);

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SyncEvent {
    Started { run_id: i64 },
    Listed { items: usize },
    Planned { files: usize, pairs: usize, bytes: u64 },
    Progress(ProgressSnapshot),
    Finished(super::SyncSummary),
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct ProgressSnapshot {
    pub files_total: u64,
    pub files_downloaded: u64,
    pub files_done: u64,
    pub bytes_total: u64,
    pub bytes_downloaded: u64,
    pub destinations: BTreeMap<String, DestinationProgress>,
}

/// One destination's part of a run so far. `transferred` always means "copied and verified
/// by this run" (as in the run's summary); "synced" is kept for the ledger's state.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct DestinationProgress {
    pub pairs_total: u64,
    pub transferred: u64,
    pub failed: u64,
    pub pending: u64,
    pub bytes_uploaded: u64,
    /// Its upload has shown no progress for half the stall time, or it was given up.
    pub not_responding: bool,
}

/// Keeps the current snapshot and sends it when enough time has passed. Clones share it (the
/// downloads, in their own task, count bytes as they arrive).
#[derive(Clone)]
pub struct ProgressReporter {
    shared: Arc<Shared>,
}

struct Shared {
    tx: Option<UnboundedSender<SyncEvent>>,
    state: Mutex<(ProgressSnapshot, Option<Instant>)>,
}

impl ProgressReporter {
    pub fn new(tx: Option<UnboundedSender<SyncEvent>>) -> Self {
        Self { shared: Arc::new(Shared { tx, state: Mutex::new((ProgressSnapshot::default(), None)) }) }
    }

    pub fn send(&self, event: SyncEvent) {
        if let Some(tx) = &self.shared.tx {
            let _ = tx.send(event);
        }
    }

    /// Applies a change and sends the snapshot if the last one went out long enough ago.
    pub fn update(&self, change: impl FnOnce(&mut ProgressSnapshot)) {
        let Ok(mut state) = self.shared.state.lock() else {
            return;
        };
        change(&mut state.0);
        let due = state.1.map(|t| t.elapsed() >= MIN_INTERVAL).unwrap_or(true);
        if due {
            state.1 = Some(Instant::now());
            let snapshot = state.0.clone();
            drop(state);
            self.send(SyncEvent::Progress(snapshot));
        }
    }

    /// Sends the current snapshot now (at the end of a run).
    pub fn flush(&self) {
        let snapshot = match self.shared.state.lock() {
            Ok(state) => state.0.clone(),
            Err(_) => return,
        };
        self.send(SyncEvent::Progress(snapshot));
    }

    /// What has been done so far (the run's summary counts what was copied from it).
    pub fn snapshot(&self) -> ProgressSnapshot {
        self.shared.state.lock().map(|s| s.0.clone()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_of_updates_are_throttled_but_the_final_state_is_sent() {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let reporter = ProgressReporter::new(Some(tx));
        for _ in 0..1000 {
            reporter.update(|s| s.files_done += 1);
        }
        reporter.flush();
        let mut events = Vec::new();
        while let Ok(e) = rx.try_recv() {
            events.push(e);
        }
        assert!(events.len() <= 3, "{} events", events.len());
        match events.last() {
            Some(SyncEvent::Progress(s)) => assert_eq!(s.files_done, 1000),
            other => panic!("unexpected {other:?}"),
        }
    }
}
