//! The drills' bounded writer: one write at a time (SET, then `WAIT 1` for a replica to
//! acknowledge it), paced, until told to stop or its bounds are reached, tallying what a client
//! would have seen: acknowledged writes (kept to check afterwards that none was lost), writes
//! that were not acknowledged in time, failed writes, and the longest time writes kept failing.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Outcome of one write that went through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    /// A replica acknowledged it within the WAIT timeout.
    pub acknowledged: bool,
    /// The port of the node that took it.
    pub port: u32,
}

/// One write of a key; `Err` when it failed.
pub type Attempt = Box<dyn FnMut(&str) -> Result<Written, String> + Send>;

/// Limits that keep a drill's traffic small whatever happens.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// Pause between writes.
    pub interval: Duration,
    /// No write starts after this long.
    pub max_time: Duration,
    pub max_writes: u32,
}

#[derive(Debug, Default)]
pub struct Tally {
    pub acknowledged: Vec<String>,
    pub unacknowledged: u64,
    pub failed: u64,
    /// Longest run of failing writes, from the first failed attempt to the next success.
    pub longest_outage: Duration,
    /// The message of the last failed write.
    pub last_error: Option<String>,
    /// When each write started and the port of the node that took it (`None`: it failed),
    /// for "when did writes succeed again, on the new primary".
    pub timeline: Vec<(Instant, Option<u32>)>,
}

pub struct Writer {
    stop: Arc<AtomicBool>,
    /// Updated after every write, so that the drill can watch it while the writer runs.
    tally: Arc<Mutex<Tally>>,
    handle: JoinHandle<()>,
}

impl Writer {
    /// Start writing keys `<prefix><n>`.
    pub fn start(prefix: String, bounds: Bounds, mut attempt: Attempt) -> Writer {
        let stop = Arc::new(AtomicBool::new(false));
        let tally = Arc::new(Mutex::new(Tally::default()));
        let (flag, shared) = (stop.clone(), tally.clone());
        let handle = std::thread::spawn(move || {
            let start = Instant::now();
            let mut failing_since: Option<Instant> = None;
            for i in 0..bounds.max_writes {
                if flag.load(Ordering::Relaxed) || start.elapsed() > bounds.max_time {
                    break;
                }
                let key = format!("{prefix}{i}");
                let at = Instant::now();
                let result = attempt(&key);
                let Ok(mut t) = shared.lock() else { return };
                t.timeline.push((at, result.as_ref().ok().map(|w| w.port)));
                match &result {
                    Ok(w) if w.acknowledged => t.acknowledged.push(key),
                    Ok(_) => t.unacknowledged += 1,
                    Err(e) => {
                        t.failed += 1;
                        t.last_error = Some(e.clone());
                    }
                }
                match (result.is_err(), failing_since) {
                    (true, None) => failing_since = Some(at),
                    // Until this write started: its own WAIT is not part of the outage.
                    (false, Some(since)) => {
                        t.longest_outage = t.longest_outage.max(at.duration_since(since));
                        failing_since = None;
                    }
                    _ => {}
                }
                drop(t);
                std::thread::sleep(bounds.interval);
            }
            if let (Some(since), Ok(mut t)) = (failing_since, shared.lock()) {
                t.longest_outage = t.longest_outage.max(since.elapsed());
            }
        });
        Writer { stop, tally, handle }
    }

    /// Look at the tally so far.
    pub fn peek<T>(&self, f: impl FnOnce(&Tally) -> T) -> Option<T> {
        self.tally.lock().ok().map(|t| f(&t))
    }

    /// Stop after the current write; the tally.
    pub fn finish(self) -> Tally {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.handle.join();
        Arc::try_unwrap(self.tally).ok().and_then(|m| m.into_inner().ok()).unwrap_or_default()
    }
}

impl Tally {
    /// How long after `since` the first write that the node on `port` took started.
    pub fn first_write_to(&self, port: u32, since: Instant) -> Option<Duration> {
        self.timeline.iter().find(|(at, p)| *at >= since && *p == Some(port)).map(|(at, _)| at.duration_since(since))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_writer_is_bounded_and_measures_the_outage() {
        let mut n = 0;
        let attempt: Attempt = Box::new(move |_key| {
            n += 1;
            match n {
                3..=5 => Err("down".into()),
                _ => Ok(Written { acknowledged: n % 2 == 0, port: if n < 3 { 1 } else { 2 } }),
            }
        });
        let start = Instant::now();
        let bounds = Bounds { interval: Duration::from_millis(5), max_time: Duration::from_secs(5), max_writes: 10 };
        let w = Writer::start("k:".into(), bounds, attempt);
        std::thread::sleep(Duration::from_millis(200));
        let t = w.finish();
        assert_eq!(t.failed, 3);
        assert_eq!(t.acknowledged.len() as u64 + t.unacknowledged + t.failed, 10);
        assert!(t.longest_outage >= Duration::from_millis(10), "{:?}", t.longest_outage);
        assert!(t.first_write_to(2, start).is_some_and(|d| d >= Duration::from_millis(10)));
        assert!(t.first_write_to(3, start).is_none());
    }
}
