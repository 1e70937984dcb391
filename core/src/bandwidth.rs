//! Bandwidth rules: `sync.bandwidth_limit` in rclone's timetable form, applied by Fanout itself
//! to Drive downloads and, through rc `core/bwlimit`, to rclone's transfers.
//!
//! rclone's rc takes one rate at a time, not a timetable, so Fanout keeps the timetable and
//! tells rclone the rate of the current slot whenever it changes (a new slot, a new limit from
//! Settings, a restarted daemon).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{Datelike, Timelike};
use tokio::sync::{watch, Mutex};
use tokio::time::Instant;

use crate::rclone::RcloneDaemon;

const MINUTES_PER_DAY: u32 = 24 * 60;
const MINUTES_PER_WEEK: u32 = 7 * MINUTES_PER_DAY;
const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// How often a running sync looks whether a new slot of the timetable has begun.
const SLOT_CHECK: Duration = Duration::from_secs(20);

/// Bytes per second each way; `None` is unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Rates {
    /// To destinations (rclone's transfers out).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upload: Option<u64>,
    /// From Google Drive (and from destinations, in a restore).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub download: Option<u64>,
}

impl Rates {
    /// The rate as rc `core/bwlimit` takes it: `upload:download`, in bytes or `off`.
    fn rclone_text(self) -> String {
        let side = |rate: Option<u64>| rate.map_or("off".to_string(), |r| format!("{r}B"));
        format!("{}:{}", side(self.upload), side(self.download))
    }
}

/// `sync.bandwidth_limit`: one rate (`10M`, `1M:4M`, `off`) or slots that start at a time of
/// day, every day or on one weekday (`08:00,1M 19:00,off`, `Sat-00:00,off`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timetable {
    text: String,
    /// (minute of the week a slot starts at, its rates), sorted; empty means unlimited.
    slots: Vec<(u32, Rates)>,
}

impl Timetable {
    pub fn unlimited() -> Self {
        Self { text: String::new(), slots: Vec::new() }
    }

    /// Parses rclone's `--bwlimit` syntax; the error says what is wrong, in a sentence.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let entries: Vec<&str> = text.split_whitespace().collect();
        let mut slots = Vec::new();
        match entries.as_slice() {
            [] => {}
            [single] if !single.contains(',') => slots.push((0, parse_rates(single)?)),
            _ => {
                for entry in &entries {
                    let (when, rate) = entry
                        .split_once(',')
                        .ok_or_else(|| format!("`{entry}` needs a time and a rate, like `08:00,1M`"))?;
                    let rates = parse_rates(rate)?;
                    match parse_when(when)? {
                        (Some(day), minute) => slots.push((day * MINUTES_PER_DAY + minute, rates)),
                        (None, minute) => {
                            slots.extend((0..7).map(|day| (day * MINUTES_PER_DAY + minute, rates)));
                        }
                    }
                }
            }
        }
        // A weekday's slot wins over an every-day slot at the same minute (it is more precise).
        slots.sort_by_key(|(minute, _)| *minute);
        slots.dedup_by_key(|(minute, _)| *minute);
        Ok(Self { text: text.to_string(), slots })
    }

    /// The rates in force at a local time: the last slot begun, wrapping around the week.
    pub fn rates_at(&self, at: chrono::NaiveDateTime) -> Rates {
        let minute = at.weekday().num_days_from_monday() * MINUTES_PER_DAY + at.hour() * 60 + at.minute();
        let begun = self.slots.iter().take_while(|(start, _)| *start <= minute % MINUTES_PER_WEEK).last();
        begun.or(self.slots.last()).map(|(_, rates)| *rates).unwrap_or_default()
    }

    pub fn rates_now(&self) -> Rates {
        self.rates_at(chrono::Local::now().naive_local())
    }

    pub fn text(&self) -> &str {
        &self.text
    }
}

/// `Mon-08:00` or `08:00`: (day of the week from Monday, minute of the day).
fn parse_when(when: &str) -> Result<(Option<u32>, u32), String> {
    let (day, time) = match when.split_once('-') {
        Some((day, time)) => {
            let lower = day.to_ascii_lowercase();
            let index = DAYS.iter().position(|d| lower.starts_with(d) && d.len() <= lower.len());
            let index = index.ok_or_else(|| format!("`{day}` is not a day; use Mon, Tue, … Sun"))?;
            (Some(index as u32), time)
        }
        None => (None, when),
    };
    let bad = || format!("`{when}` is not a time; write HH:MM, like 08:00 or Sat-08:00");
    let (h, m) = time.split_once(':').ok_or_else(bad)?;
    let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if h > 23 || m > 59 {
        return Err(bad());
    }
    Ok((day, h * 60 + m))
}

/// `1M`, `512K`, `off`, or `upload:download` of those.
fn parse_rates(text: &str) -> Result<Rates, String> {
    match text.split_once(':') {
        Some((up, down)) => Ok(Rates { upload: parse_rate(up)?, download: parse_rate(down)? }),
        None => {
            let both = parse_rate(text)?;
            Ok(Rates { upload: both, download: both })
        }
    }
}

/// rclone's size syntax: a number in KiB, or with a suffix B, K, M, G, T (binary; `Mi` too).
fn parse_rate(text: &str) -> Result<Option<u64>, String> {
    let bad = || format!("`{text}` is not a rate; write e.g. 512K, 10M or off");
    let lower = text.trim().to_ascii_lowercase();
    if lower == "off" || lower.is_empty() {
        return Ok(None);
    }
    let trimmed = lower.strip_suffix('i').unwrap_or(&lower);
    let (number, unit) = match trimmed.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((at, _)) => trimmed.split_at(at),
        None => (trimmed, "k"),
    };
    let multiplier: f64 = match unit {
        "b" => 1.0,
        "k" => 1024.0,
        "m" => 1024.0 * 1024.0,
        "g" => 1024.0 * 1024.0 * 1024.0,
        "t" => 1024.0f64.powi(4),
        _ => return Err(bad()),
    };
    let value: f64 = number.parse().map_err(|_| bad())?;
    if !value.is_finite() || value < 0.0 {
        return Err(bad());
    }
    // rclone reads a zero rate as unlimited too.
    let bytes = (value * multiplier).round() as u64;
    Ok((bytes > 0).then_some(bytes))
}

/// The limit as the window shows it: the timetable's text and the rates in force now.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BandwidthStatus {
    pub limit: String,
    pub now: Rates,
}

impl BandwidthStatus {
    pub fn of(timetable: &Timetable) -> Self {
        Self { limit: timetable.text().to_string(), now: timetable.rates_now() }
    }
}

/// Holds Drive downloads to a rate shared by all of them: each chunk read moves a virtual
/// clock on by its size over the rate, and a reader waits until that clock is reached.
#[derive(Debug, Default)]
pub struct Throttle {
    /// Bytes per second; 0 is unlimited.
    rate: AtomicU64,
    next_free: Mutex<Option<Instant>>,
}

impl Throttle {
    pub fn set_rate(&self, rate: Option<u64>) {
        self.rate.store(rate.unwrap_or(0), Ordering::Relaxed);
    }

    pub fn rate(&self) -> Option<u64> {
        Some(self.rate.load(Ordering::Relaxed)).filter(|r| *r > 0)
    }

    /// Waits as long as `bytes` just read take at the current rate.
    pub async fn take(&self, bytes: usize) {
        let Some(rate) = self.rate() else { return };
        let wait_until = {
            let mut next = self.next_free.lock().await;
            let now = Instant::now();
            // Time not used while nothing was read is not saved up for a burst later.
            let start = next.filter(|t| *t > now).unwrap_or(now);
            let until = start + Duration::from_secs_f64(bytes as f64 / rate as f64);
            *next = Some(until);
            until
        };
        tokio::time::sleep_until(wait_until).await;
    }
}

/// The bandwidth limit in force for this engine: its timetable (which Settings may change while
/// a sync runs) and the throttle Drive downloads go through.
#[derive(Debug)]
pub struct Bandwidth {
    timetable: watch::Sender<Timetable>,
    pub download: Arc<Throttle>,
}

impl Bandwidth {
    pub fn new(timetable: Timetable) -> Self {
        let download = Arc::new(Throttle::default());
        download.set_rate(timetable.rates_now().download);
        Self { timetable: watch::Sender::new(timetable), download }
    }

    pub fn timetable(&self) -> Timetable {
        self.timetable.borrow().clone()
    }

    /// A new timetable, applied at once to a running sync.
    pub fn set(&self, timetable: Timetable) {
        self.download.set_rate(timetable.rates_now().download);
        self.timetable.send_replace(timetable);
    }

    /// Tells rclone (and the download throttle) the rates in force now.
    pub async fn apply(&self, daemon: &RcloneDaemon) -> Result<(), crate::rclone::RcloneError> {
        let rates = self.timetable.borrow().rates_now();
        self.apply_rates(daemon, rates).await
    }

    async fn apply_rates(&self, daemon: &RcloneDaemon, rates: Rates) -> Result<(), crate::rclone::RcloneError> {
        self.download.set_rate(rates.download);
        daemon.set_bandwidth_limit(&rates.rclone_text()).await
    }

    /// For as long as a daemon runs: applies each new slot of the timetable and each new
    /// timetable, and applies again after rclone was restarted (a new daemon forgets).
    pub async fn follow(self: Arc<Self>, daemon: Arc<RcloneDaemon>) {
        let mut changes = self.timetable.subscribe();
        let mut applied: Option<(Rates, u32)> = None;
        loop {
            let now = (self.timetable.borrow().rates_now(), daemon.restarts());
            if applied != Some(now) {
                match self.apply_rates(&daemon, now.0).await {
                    Ok(()) => applied = Some(now),
                    Err(e) => tracing::warn!(error = %e, "could not set rclone's bandwidth limit; trying again"),
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(SLOT_CHECK) => {}
                changed = changes.changed() => if changed.is_err() { return },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    fn at(day: u32, time: &str) -> chrono::NaiveDateTime {
        // 2026-11-30 is a Monday.
        let date = chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap() + chrono::Days::new(u64::from(day));
        let (h, m) = time.split_once(':').unwrap();
        date.and_hms_opt(h.parse().unwrap(), m.parse().unwrap(), 0).unwrap()
    }

    #[test]
    fn one_rate_holds_all_week_and_off_or_empty_is_unlimited() {
        let t = Timetable::parse("10M").unwrap();
        assert_eq!(t.rates_at(at(3, "04:00")), Rates { upload: Some(10 * MIB), download: Some(10 * MIB) });
        for unlimited in ["off", "", "  ", "0"] {
            assert_eq!(Timetable::parse(unlimited).unwrap().rates_at(at(0, "12:00")), Rates::default(), "{unlimited}");
        }
        let split = Timetable::parse("1M:512K").unwrap().rates_at(at(0, "00:00"));
        assert_eq!(split, Rates { upload: Some(MIB), download: Some(512 * 1024) });
        assert_eq!(Timetable::parse("1.5Mi").unwrap().rates_at(at(0, "0:00")).upload, Some(3 * MIB / 2));
        assert_eq!(Timetable::parse("256").unwrap().rates_at(at(0, "0:00")).upload, Some(256 * 1024), "KiB by default");
    }

    #[test]
    fn a_daily_timetable_switches_at_its_times_and_wraps_past_midnight() {
        let t = Timetable::parse("08:00,1M 19:00,off").unwrap();
        assert_eq!(t.rates_at(at(1, "07:59")).upload, None, "before 08:00 yesterday's 19:00 slot holds");
        assert_eq!(t.rates_at(at(1, "08:00")).upload, Some(MIB));
        assert_eq!(t.rates_at(at(1, "18:59")).download, Some(MIB));
        assert_eq!(t.rates_at(at(1, "19:00")).upload, None);
        assert_eq!(t.rates_at(at(0, "00:10")).upload, None, "Monday morning wraps to Sunday evening");
    }

    #[test]
    fn weekday_slots_apply_on_their_day_only() {
        let t = Timetable::parse("Mon-00:00,512K Sat-09:00,off Sun-20:00,2M").unwrap();
        assert_eq!(t.rates_at(at(2, "12:00")).upload, Some(512 * 1024), "Wednesday is still Monday's slot");
        assert_eq!(t.rates_at(at(5, "10:00")).upload, None, "Saturday from 09:00");
        assert_eq!(t.rates_at(at(6, "21:00")).upload, Some(2 * MIB));
    }

    #[test]
    fn what_is_not_a_timetable_is_refused_with_the_reason() {
        for (bad, says) in [
            ("fast", "is not a rate"),
            ("08:00 1M", "needs a time and a rate"),
            ("25:00,1M 08:00,off", "is not a time"),
            ("Someday-08:00,1M", "is not a day"),
            ("10Q", "is not a rate"),
        ] {
            let e = Timetable::parse(bad).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn rclone_is_told_upload_then_download_in_bytes() {
        assert_eq!(Rates { upload: Some(MIB), download: None }.rclone_text(), "1048576B:off");
    }

    #[tokio::test(start_paused = true)]
    async fn the_throttle_holds_reads_to_its_rate() {
        let throttle = Throttle::default();
        throttle.set_rate(Some(MIB));
        let start = Instant::now();
        for _ in 0..64 {
            throttle.take(64 * 1024).await;
        }
        assert_eq!(start.elapsed().as_secs(), 4, "4 MiB at 1 MiB/s");
        throttle.set_rate(None);
        let start = Instant::now();
        throttle.take(100 * MIB as usize).await;
        assert_eq!(start.elapsed(), Duration::ZERO);
    }
}
