//! When a scheduled sync is due: by the wall clock, from the start of the last run the
//! database recorded. A laptop that slept through a due time, or an app started after one
//! passed while it was closed, syncs once as soon as it looks, not once per missed slot.
//!
//! The check runs on a short monotonic tick ([`run`]) but compares wall-clock times, because
//! the monotonic clock stands still while the machine is suspended.

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Datelike, Local, NaiveTime, TimeZone, Utc, Weekday};
use tokio_util::sync::CancellationToken;

/// The shortest interval `every` accepts, and the longest.
const SHORTEST: Duration = Duration::from_secs(120);
const LONGEST: Duration = Duration::from_secs(366 * 86_400);

/// How often scheduled syncs run (`sync.schedule`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    /// `every 6h`: this long after the last run started.
    Every(Duration),
    /// `daily at 02:30`, local time.
    Daily(NaiveTime),
    /// `weekdays at 12:00`: Monday to Friday, local time.
    Weekdays(NaiveTime),
}

impl Schedule {
    /// `every <n><m|h|d>` (2 minutes to 366 days), `daily at HH:MM` or `weekdays at HH:MM`.
    pub fn parse(text: &str) -> Option<Schedule> {
        let text = text.trim();
        if let Some(at) = text.strip_prefix("daily at") {
            return NaiveTime::parse_from_str(at.trim(), "%H:%M").ok().map(Schedule::Daily);
        }
        if let Some(at) = text.strip_prefix("weekdays at") {
            return NaiveTime::parse_from_str(at.trim(), "%H:%M").ok().map(Schedule::Weekdays);
        }
        let every = parse_duration(text.strip_prefix("every")?)?;
        (SHORTEST..=LONGEST).contains(&every).then_some(Schedule::Every(every))
    }

    /// How long without a successful sync before Fanout warns: three scheduled runs missed
    /// (a weekday schedule spans a weekend, so four days).
    pub fn default_stale_after(&self) -> Duration {
        match self {
            Schedule::Every(every) => every.saturating_mul(3),
            Schedule::Daily(_) => Duration::from_secs(3 * 86_400),
            Schedule::Weekdays(_) => Duration::from_secs(4 * 86_400),
        }
    }

    /// When the next sync is due after a run that started at `last` (times of day in `tz`);
    /// with no run yet, at once.
    pub fn next_due<Tz: TimeZone>(&self, last: Option<DateTime<Utc>>, tz: &Tz) -> DateTime<Utc> {
        let Some(last) = last else { return DateTime::<Utc>::MIN_UTC };
        match *self {
            Schedule::Every(every) => chrono::Duration::from_std(every)
                .ok()
                .and_then(|every| last.checked_add_signed(every))
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
            Schedule::Daily(at) => next_slot(last, at, tz, |_| true),
            Schedule::Weekdays(at) => next_slot(last, at, tz, |day| !matches!(day, Weekday::Sat | Weekday::Sun)),
        }
    }

    /// [`Schedule::next_due`] in the machine's time zone.
    pub fn next_due_here(&self, last: Option<DateTime<Utc>>) -> DateTime<Utc> {
        self.next_due(last, &Local)
    }
}

/// Without a schedule, how long without a successful sync before Fanout warns.
pub const STALE_WITHOUT_SCHEDULE: Duration = Duration::from_secs(3 * 86_400);

/// `30m`, `6 hours`, `3d`: a number and a unit (minutes, hours or days).
pub fn parse_duration(text: &str) -> Option<Duration> {
    let amount = text.trim();
    let (number, unit) = amount.split_at(amount.find(|c: char| !c.is_ascii_digit())?);
    let n: u64 = number.parse().ok()?;
    let unit_seconds: u64 = match unit.trim() {
        "m" | "min" | "minute" | "minutes" => 60,
        "h" | "hour" | "hours" => 3600,
        "d" | "day" | "days" => 86_400,
        _ => return None,
    };
    Some(Duration::from_secs(n.checked_mul(unit_seconds)?))
}

/// Backups are overdue: no sync has finished successfully for longer than `sync.stale_after`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Overdue {
    /// When the last successful sync finished (RFC 3339), if one ever did.
    pub last_success: Option<String>,
    /// Since when backups have been missing: the last success, else the first attempt.
    pub since: String,
    /// The newest trouble recorded: the last run's error, or a destination's failed copies.
    pub problem: Option<String>,
}

/// Whether backups are overdue at `now`: `since` (the last success, else the first attempt)
/// is longer ago than `stale_after`.
pub fn is_overdue(now: DateTime<Utc>, since: DateTime<Utc>, stale_after: Duration) -> bool {
    chrono::Duration::from_std(stale_after)
        .ok()
        .and_then(|d| since.checked_add_signed(d))
        .is_some_and(|limit| now > limit)
}

/// The first time `at` on a day `on` accepts that is after `last`.
fn next_slot<Tz: TimeZone>(last: DateTime<Utc>, at: NaiveTime, tz: &Tz, on: impl Fn(Weekday) -> bool) -> DateTime<Utc> {
    let mut day = last.with_timezone(tz).date_naive();
    for _ in 0..8 {
        // A time skipped by a daylight-saving change happens an hour later that day.
        let local = day.and_time(at);
        let slot = tz
            .from_local_datetime(&local)
            .earliest()
            .or_else(|| tz.from_local_datetime(&(local + chrono::Duration::hours(1))).earliest())
            .map(|t| t.with_timezone(&Utc));
        if let Some(slot) = slot.filter(|slot| *slot > last && on(day.weekday())) {
            return slot;
        }
        day = day.succ_opt().unwrap_or(day);
    }
    last + chrono::Duration::days(1)
}

/// The wall clock, given to the scheduler so a test can move it.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The machine's clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// What the scheduler starts syncs on.
pub trait Scheduled: Send + Sync {
    /// When the next scheduled sync is due (from the last recorded run); `None` when none is
    /// scheduled or it cannot be known now.
    fn next_due(&self) -> impl Future<Output = Option<DateTime<Utc>>> + Send;
    /// Starts a sync unless one is running or scheduled syncs are paused.
    fn start(&self);
}

/// How often the wall clock is looked at: a sync starts within this of being due.
pub const TICK: Duration = Duration::from_secs(20);

/// Starts a sync whenever one is due, looking every `tick`, until `stop`.
pub async fn run(target: &impl Scheduled, clock: &dyn Clock, tick: Duration, stop: &CancellationToken) {
    loop {
        if target.next_due().await.is_some_and(|due| clock.now() >= due) {
            target.start();
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(tick) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn schedules_read_every_interval_or_a_time_of_day() {
        assert_eq!(Schedule::parse("every 6h"), Some(Schedule::Every(Duration::from_secs(6 * 3600))));
        assert_eq!(Schedule::parse("every 30m"), Some(Schedule::Every(Duration::from_secs(1800))));
        assert_eq!(Schedule::parse("every 2 hours"), Some(Schedule::Every(Duration::from_secs(7200))));
        assert_eq!(Schedule::parse("every 2m"), Some(Schedule::Every(Duration::from_secs(120))));
        let half_past_two = NaiveTime::from_hms_opt(2, 30, 0).unwrap();
        assert_eq!(Schedule::parse("daily at 02:30"), Some(Schedule::Daily(half_past_two)));
        assert_eq!(
            Schedule::parse(" weekdays at 12:00 "),
            Some(Schedule::Weekdays(NaiveTime::from_hms_opt(12, 0, 0).unwrap()))
        );
        for bad in [
            "every 1m",
            "every 367d",
            "every 18446744073709551615d",
            "hourly",
            "daily at 25:00",
            "daily",
            "weekdays at noon",
        ] {
            assert_eq!(Schedule::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_next_sync_is_due_from_the_last_run_once_not_once_per_missed_slot() {
        let every = Schedule::parse("every 6h").unwrap();
        assert_eq!(every.next_due(None, &Utc), DateTime::<Utc>::MIN_UTC, "never run: due at once");
        assert_eq!(every.next_due(Some(utc("2026-12-01T08:00:00Z")), &Utc), utc("2026-12-01T14:00:00Z"));

        let daily = Schedule::parse("daily at 02:30").unwrap();
        assert_eq!(daily.next_due(Some(utc("2026-12-01T01:00:00Z")), &Utc), utc("2026-12-01T02:30:00Z"));
        assert_eq!(daily.next_due(Some(utc("2026-12-01T02:30:00Z")), &Utc), utc("2026-12-02T02:30:00Z"));
        // Closed for three days: due since the first missed slot; the run then moves it on.
        let due = daily.next_due(Some(utc("2026-11-28T03:00:00Z")), &Utc);
        assert_eq!(due, utc("2026-11-29T02:30:00Z"));
        assert_eq!(daily.next_due(Some(utc("2026-12-02T09:00:00Z")), &Utc), utc("2026-12-03T02:30:00Z"));

        // In the user's time zone: 02:30 in UTC+1 is 01:30 UTC.
        let paris = chrono::FixedOffset::east_opt(3600).unwrap();
        assert_eq!(daily.next_due(Some(utc("2026-12-01T00:00:00Z")), &paris), utc("2026-12-01T01:30:00Z"));

        // Friday's run: the next weekday is Monday (2026-12-04 is a Friday).
        let weekdays = Schedule::parse("weekdays at 12:00").unwrap();
        assert_eq!(weekdays.next_due(Some(utc("2026-12-04T12:05:00Z")), &Utc), utc("2026-12-07T12:00:00Z"));
        assert_eq!(weekdays.next_due(Some(utc("2026-12-07T08:00:00Z")), &Utc), utc("2026-12-07T12:00:00Z"));
    }

    #[test]
    fn backups_are_overdue_after_three_missed_runs_by_default() {
        assert_eq!(Schedule::parse("every 6h").unwrap().default_stale_after(), Duration::from_secs(18 * 3600));
        assert_eq!(Schedule::parse("daily at 02:30").unwrap().default_stale_after(), Duration::from_secs(3 * 86_400));
        assert_eq!(
            Schedule::parse("weekdays at 12:00").unwrap().default_stale_after(),
            Duration::from_secs(4 * 86_400)
        );
        assert_eq!(parse_duration("2 days"), Some(Duration::from_secs(2 * 86_400)));
        assert_eq!(parse_duration("soon"), None);
        let since = utc("2026-12-01T00:00:00Z");
        let day = Duration::from_secs(86_400);
        assert!(!is_overdue(utc("2026-12-01T23:00:00Z"), since, day));
        assert!(is_overdue(utc("2026-12-02T00:00:01Z"), since, day));
    }

    struct FakeClock(Mutex<DateTime<Utc>>);

    impl Clock for FakeClock {
        fn now(&self) -> DateTime<Utc> {
            *self.0.lock().unwrap()
        }
    }

    /// Records starts; a start is a run that begins at the fake clock's time.
    struct Recorder {
        schedule: Schedule,
        clock: Arc<FakeClock>,
        last: Mutex<Option<DateTime<Utc>>>,
        starts: AtomicUsize,
    }

    impl Scheduled for Recorder {
        async fn next_due(&self) -> Option<DateTime<Utc>> {
            Some(self.schedule.next_due(*self.last.lock().unwrap(), &Utc))
        }
        fn start(&self) {
            self.starts.fetch_add(1, Ordering::SeqCst);
            *self.last.lock().unwrap() = Some(self.clock.now());
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_wall_clock_jump_past_the_due_time_starts_exactly_one_sync_within_a_minute() {
        let clock = Arc::new(FakeClock(Mutex::new(utc("2026-12-01T08:00:00Z"))));
        let recorder = Arc::new(Recorder {
            schedule: Schedule::parse("every 24h").unwrap(),
            clock: clock.clone(),
            last: Mutex::new(Some(utc("2026-12-01T07:00:00Z"))),
            starts: AtomicUsize::new(0),
        });
        let stop = CancellationToken::new();
        let task = {
            let (recorder, clock, stop) = (recorder.clone(), clock.clone(), stop.clone());
            tokio::spawn(async move { run(&*recorder, &*clock, TICK, &stop).await })
        };
        // An hour of monotonic time, the wall clock moving with it: not due.
        for _ in 0..180 {
            tokio::time::advance(TICK).await;
            *clock.0.lock().unwrap() += chrono::Duration::seconds(TICK.as_secs() as i64);
        }
        assert_eq!(recorder.starts.load(Ordering::SeqCst), 0);

        // Suspended for two days: the wall clock jumps, the monotonic clock stood still.
        *clock.0.lock().unwrap() += chrono::Duration::days(2);
        for _ in 0..3 {
            tokio::time::advance(TICK).await;
        }
        assert_eq!(recorder.starts.load(Ordering::SeqCst), 1, "one sync within a minute of waking");
        for _ in 0..30 {
            tokio::time::advance(TICK).await;
        }
        assert_eq!(recorder.starts.load(Ordering::SeqCst), 1, "not once per missed slot");
        stop.cancel();
        task.await.unwrap();
    }
}
