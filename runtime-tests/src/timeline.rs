//! The shared timeline of a scenario pod, as the kubelet's node e2e tests
//! keep it: every container appends `Starting`, `Started`, `Exiting` (and
//! `Term`, `PreStop`, ...) lines to one file on a volume all of them mount,
//! and the test asserts on the order of those lines.
//!
//! # The line format
//!
//! ```text
//! <uptime> <container> <event> [<detail>...]
//! 8566.28 first-sidecar Starting
//! 8567.31 first-sidecar Started
//! 8570.02 app Exiting 0
//! ```
//!
//! `<uptime>` is the first field of `/proc/uptime`: seconds since boot with
//! two decimals. busybox `date` has no sub-second format (`%N` is not
//! built in), while `/proc/uptime` is read by the shell's own `read`
//! (no fork) and is the same clock in every container of the host (minipod
//! gives containers no time namespace) and in the test itself
//! ([`host_uptime`]).
//!
//! # Order and time
//!
//! Each line is one small `>>` append (`O_APPEND`, atomic), so the order of
//! the lines in the file is the order in which they were written. Every
//! assertion about order ([`Timeline::starts_before`],
//! [`Timeline::exits_before`], ...) uses that order, never the timestamps,
//! which have a 10 ms resolution and are read just before the write. The
//! timestamps are only for durations ([`Timeline::restart_delays`]), checked
//! with generous bounds.
//!
//! Every failed assertion returns an explanation that ends with the whole
//! timeline ([`Timeline::render`]).

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

/// A container began (the first thing its command does).
pub const STARTING: &str = "Starting";
/// A container finished starting (after its start delay): for a sidecar with
/// a startup probe, the probe's file is made right after this line.
pub const STARTED: &str = "Started";
/// A container is about to exit on its own; the detail is the exit code.
pub const EXITING: &str = "Exiting";
/// A container received SIGTERM (its trap ran).
pub const TERM: &str = "Term";
/// A preStop hook ran.
pub const PRE_STOP: &str = "PreStop";
/// A postStart hook ran.
pub const POST_START: &str = "PostStart";

/// Where the scenario pods mount the shared volume.
pub const SHARED_DIR: &str = "/shared";
/// The timeline file in the shared volume.
pub const LOG_NAME: &str = "timeline.log";

/// One line of the timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its position in the file (0 for the first line): the true order.
    pub seq: usize,
    /// Time since boot (`/proc/uptime`), 10 ms resolution.
    pub at: Duration,
    pub container: String,
    pub event: String,
    /// The rest of the line (the exit code of `Exiting`), maybe empty.
    pub detail: String,
}

/// One run of a container: from a `Starting` line to its `Exiting` line,
/// or, when the run was killed without writing one, to the next
/// `Starting` of the same container (a bound), or open (still running).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    /// `seq` of its `Starting` line.
    pub start: usize,
    /// `seq` of its `Exiting` line, or of the next `Starting` if none.
    pub end: Option<usize>,
    /// Whether `end` is its own `Exiting` line.
    pub exited: bool,
}

/// The parsed timeline file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Timeline {
    entries: Vec<Entry>,
}

impl Timeline {
    /// Parses the whole text. A last line without its newline is ignored
    /// (it may be half-written while the containers run); any other line
    /// that is not `<uptime> <container> <event> [detail]` is an error.
    pub fn parse(text: &str) -> Result<Timeline, String> {
        let complete = match text.rfind('\n') {
            Some(end) => &text[..=end],
            None => "",
        };
        let mut entries = Vec::new();
        for (number, line) in complete.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let entry = parse_line(line, entries.len())
                .map_err(|why| format!("timeline line {}: {why}: {line:?}", number + 1))?;
            entries.push(entry);
        }
        Ok(Timeline { entries })
    }

    /// Reads and parses `path`; a missing file is an empty timeline (no
    /// container has written yet).
    pub fn read(path: &Path) -> Result<Timeline, String> {
        match std::fs::read_to_string(path) {
            Ok(text) => Timeline::parse(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Timeline::default()),
            Err(e) => Err(format!("cannot read {}: {e}", path.display())),
        }
    }

    /// Every line, in file order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The lines of `container` with `event`, in order.
    pub fn events(&self, container: &str, event: &str) -> Vec<&Entry> {
        self.entries
            .iter()
            .filter(|e| e.container == container && e.event == event)
            .collect()
    }

    /// How many lines of `container` have `event`.
    pub fn count(&self, container: &str, event: &str) -> usize {
        self.events(container, event).len()
    }

    /// The first line of `container` with `event`.
    pub fn first(&self, container: &str, event: &str) -> Option<&Entry> {
        self.entries
            .iter()
            .find(|e| e.container == container && e.event == event)
    }

    /// The last line of `container` with `event`.
    pub fn last(&self, container: &str, event: &str) -> Option<&Entry> {
        self.entries
            .iter()
            .rev()
            .find(|e| e.container == container && e.event == event)
    }

    /// The `n`th (from 0) line of `container` with `event`.
    pub fn nth(&self, container: &str, event: &str, n: usize) -> Option<&Entry> {
        self.events(container, event).into_iter().nth(n)
    }

    /// How often `container` was restarted: its `Starting` lines minus one.
    pub fn restart_count(&self, container: &str) -> usize {
        self.count(container, STARTING).saturating_sub(1)
    }

    /// The runs of `container`, in order.
    pub fn runs(&self, container: &str) -> Vec<Run> {
        let mut runs: Vec<Run> = Vec::new();
        for e in self.entries.iter().filter(|e| e.container == container) {
            match e.event.as_str() {
                STARTING => {
                    if let Some(open) = runs.last_mut().filter(|r| r.end.is_none()) {
                        open.end = Some(e.seq);
                    }
                    runs.push(Run {
                        start: e.seq,
                        end: None,
                        exited: false,
                    });
                }
                EXITING => {
                    if let Some(open) = runs.last_mut().filter(|r| r.end.is_none()) {
                        open.end = Some(e.seq);
                        open.exited = true;
                    }
                }
                _ => {}
            }
        }
        runs
    }

    /// The time from each run's end (its `Exiting` line) to the next
    /// `Starting` of `container`: the restart delays, which CrashLoopBackOff
    /// makes grow. A run that wrote no `Exiting` line (killed) counts from
    /// its last line.
    pub fn restart_delays(&self, container: &str) -> Vec<Duration> {
        let mine: Vec<&Entry> = self
            .entries
            .iter()
            .filter(|e| e.container == container)
            .collect();
        let mut delays = Vec::new();
        for (i, e) in mine.iter().enumerate() {
            if e.event == STARTING && i > 0 {
                delays.push(e.at.saturating_sub(mine[i - 1].at));
            }
        }
        delays
    }

    /// The time between successive `Starting` lines of `container`.
    pub fn start_gaps(&self, container: &str) -> Vec<Duration> {
        self.events(container, STARTING)
            .windows(2)
            .map(|w| w[1].at.saturating_sub(w[0].at))
            .collect()
    }

    /// `container` wrote `Started` at least once.
    pub fn started(&self, container: &str) -> Result<(), String> {
        if self.first(container, STARTED).is_some() {
            Ok(())
        } else {
            Err(self.explain(&format!("{container} never wrote {STARTED}")))
        }
    }

    /// `container` never began: no `Starting` line.
    pub fn not_started(&self, container: &str) -> Result<(), String> {
        match self.first(container, STARTING) {
            None => Ok(()),
            Some(e) => Err(self.explain(&format!(
                "{container} was expected never to start, but it wrote {STARTING} (line {})",
                e.seq + 1
            ))),
        }
    }

    /// `container` began more than once.
    pub fn has_restarted(&self, container: &str) -> Result<(), String> {
        match self.restart_count(container) {
            0 => Err(self.explain(&format!(
                "{container} was expected to restart, but it wrote {STARTING} {} time(s)",
                self.count(container, STARTING)
            ))),
            _ => Ok(()),
        }
    }

    /// `container` began exactly once.
    pub fn not_restarted(&self, container: &str) -> Result<(), String> {
        match self.count(container, STARTING) {
            1 => Ok(()),
            n => Err(self.explain(&format!(
                "{container} was expected to start exactly once, but it wrote {STARTING} {n} time(s)"
            ))),
        }
    }

    /// `a` began before `b` did: `a`'s first `Starting` comes before `b`'s.
    pub fn starts_before(&self, a: &str, b: &str) -> Result<(), String> {
        self.before((a, STARTING, First), (b, STARTING, First))
    }

    /// `a` had finished starting before `b` began: `a`'s first `Started`
    /// comes before `b`'s first `Starting` (the sidecar rule: the next
    /// container waits until the sidecar has started).
    pub fn started_before(&self, a: &str, b: &str) -> Result<(), String> {
        self.before((a, STARTED, First), (b, STARTING, First))
    }

    /// `a`'s last run ended before `b`'s: `a`'s last `Exiting` comes before
    /// `b`'s last `Exiting`.
    pub fn exits_before(&self, a: &str, b: &str) -> Result<(), String> {
        self.before((a, EXITING, Last), (b, EXITING, Last))
    }

    /// `b` was signalled only after `a` had exited: `a`'s last `Exiting`
    /// comes before `b`'s last `Term` (reverse-order termination: each
    /// sidecar waits for the containers after it).
    pub fn exits_before_term(&self, a: &str, b: &str) -> Result<(), String> {
        self.before((a, EXITING, Last), (b, TERM, Last))
    }

    /// The first line of `a` with `event_a` comes before the first line of
    /// `b` with `event_b` (both must exist).
    pub fn event_before(
        &self,
        (a, event_a): (&str, &str),
        (b, event_b): (&str, &str),
    ) -> Result<(), String> {
        self.before((a, event_a, First), (b, event_b, First))
    }

    /// The containers exited in this order, each after the previous one.
    pub fn exits_in_order(&self, containers: &[&str]) -> Result<(), String> {
        for pair in containers.windows(2) {
            self.exits_before(pair[0], pair[1]).map_err(|why| {
                format!("expected the exit order {}: {why}", containers.join(" → "))
            })?;
        }
        Ok(())
    }

    /// Some run of `a` overlaps some run of `b` in file order: each began
    /// before the other ended (an open run has not ended).
    pub fn run_together(&self, a: &str, b: &str) -> Result<(), String> {
        let (runs_a, runs_b) = (self.runs(a), self.runs(b));
        let ends_after = |r: &Run, seq: usize| r.end.is_none_or(|end| end > seq);
        let overlap = runs_a.iter().any(|ra| {
            runs_b
                .iter()
                .any(|rb| ends_after(ra, rb.start) && ends_after(rb, ra.start))
        });
        if overlap {
            Ok(())
        } else {
            Err(self.explain(&format!(
                "{a} and {b} were expected to run together, but their runs do not overlap \
                 ({a}: {}; {b}: {})",
                describe_runs(&runs_a),
                describe_runs(&runs_b)
            )))
        }
    }

    /// `container`'s first `event` line was written within `[from, from + within]`
    /// (uptime: `from` is usually [`host_uptime`] taken by the test).
    pub fn happened_within(
        &self,
        container: &str,
        event: &str,
        from: Duration,
        within: Duration,
    ) -> Result<(), String> {
        let Some(e) = self.events(container, event).into_iter().find(|e| {
            // 10 ms resolution: a line written just after `from` may show
            // the previous hundredth.
            e.at + Duration::from_millis(10) >= from
        }) else {
            return Err(self.explain(&format!(
                "no {container} {event} at or after uptime {}",
                seconds(from)
            )));
        };
        let after = e.at.saturating_sub(from);
        if after <= within {
            Ok(())
        } else {
            Err(self.explain(&format!(
                "{container} {event} came {} after uptime {}, later than {}",
                seconds(after),
                seconds(from),
                seconds(within)
            )))
        }
    }

    /// The explanation `why`, followed by the whole timeline.
    pub fn explain(&self, why: &str) -> String {
        format!("{why}\n{}", self.render())
    }

    /// The whole timeline, one line per entry, times relative to the first.
    pub fn render(&self) -> String {
        let mut out = String::from(
            "timeline (seconds since the first line; line order is the true order):\n",
        );
        if self.entries.is_empty() {
            out.push_str("  (empty: no container wrote anything)\n");
            return out;
        }
        let zero = self.entries[0].at;
        let width = self
            .entries
            .iter()
            .map(|e| e.container.len())
            .max()
            .unwrap_or(0);
        for e in &self.entries {
            let line = format!(
                "  {:>3} {:>8} {:<width$} {} {}",
                e.seq + 1,
                seconds(e.at.saturating_sub(zero)),
                e.container,
                e.event,
                e.detail
            );
            let _ = writeln!(out, "{}", line.trim_end());
        }
        out
    }

    fn before(&self, a: Pick<'_>, b: Pick<'_>) -> Result<(), String> {
        let find = |(container, event, which): Pick<'_>| match which {
            First => self.first(container, event),
            Last => self.last(container, event),
        };
        let name = |(container, event, which): Pick<'_>| {
            let which = match which {
                First => "first",
                Last => "last",
            };
            format!("{container}'s {which} {event}")
        };
        match (find(a), find(b)) {
            (Some(x), Some(y)) if x.seq < y.seq => Ok(()),
            (Some(x), Some(y)) => Err(self.explain(&format!(
                "expected {} (line {}) before {} (line {})",
                name(a),
                x.seq + 1,
                name(b),
                y.seq + 1
            ))),
            (x, y) => {
                let missing: Vec<String> = [(x, a), (y, b)]
                    .into_iter()
                    .filter(|(found, _)| found.is_none())
                    .map(|(_, pick)| name(pick))
                    .collect();
                Err(self.explain(&format!(
                    "expected {} before {}, but there is no {}",
                    name(a),
                    name(b),
                    missing.join(" and no ")
                )))
            }
        }
    }
}

/// Which line of several.
#[derive(Debug, Clone, Copy)]
enum Which {
    First,
    Last,
}
use Which::{First, Last};

type Pick<'a> = (&'a str, &'a str, Which);

fn describe_runs(runs: &[Run]) -> String {
    if runs.is_empty() {
        return "never ran".to_owned();
    }
    runs.iter()
        .map(|r| match r.end {
            Some(end) => format!("lines {}–{}", r.start + 1, end + 1),
            None => format!("lines {}–(running)", r.start + 1),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn parse_line(line: &str, seq: usize) -> Result<Entry, String> {
    let mut fields = line.splitn(4, ' ');
    let (Some(at), Some(container), Some(event)) = (fields.next(), fields.next(), fields.next())
    else {
        return Err("expected `<uptime> <container> <event> [detail]`".to_owned());
    };
    if container.is_empty() || event.is_empty() {
        return Err("empty container or event".to_owned());
    }
    Ok(Entry {
        seq,
        at: parse_uptime(at)?,
        container: container.to_owned(),
        event: event.to_owned(),
        detail: fields.next().unwrap_or_default().trim().to_owned(),
    })
}

/// `8566.28` → 8566 s 280 ms (any number of decimals, up to nanoseconds).
pub fn parse_uptime(text: &str) -> Result<Duration, String> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !(fraction.is_empty() || digits(fraction)) || fraction.len() > 9 {
        return Err(format!("bad uptime {text:?}"));
    }
    let secs: u64 = whole.parse().map_err(|_| format!("bad uptime {text:?}"))?;
    let nanos: u32 = if fraction.is_empty() {
        0
    } else {
        format!("{fraction:0<9}")
            .parse()
            .map_err(|_| format!("bad uptime {text:?}"))?
    };
    Ok(Duration::new(secs, nanos))
}

/// The host's `/proc/uptime`, the clock the containers write: take it just
/// before an action (a signal, a file made) to bound when lines came.
pub fn host_uptime() -> Duration {
    let text = std::fs::read_to_string("/proc/uptime").expect("/proc/uptime");
    let first = text.split_whitespace().next().unwrap_or_default();
    parse_uptime(first).unwrap_or_else(|e| panic!("/proc/uptime: {e}"))
}

fn seconds(d: Duration) -> String {
    format!("{:.2}s", d.as_secs_f64())
}

// ---------------------------------------------------------------------------
// The containers' side: busybox sh scripts that write the timeline.
// ---------------------------------------------------------------------------

/// What a scenario container does; see [`script`]. The default runs until
/// SIGTERM and then exits 0 at once.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ScriptOptions {
    /// Seconds between `Starting` and `Started`.
    pub start_delay: f64,
    /// Exit on its own this many seconds after `Started`; `None`: run until
    /// signalled.
    pub exit_after: Option<f64>,
    /// The code of that exit.
    pub exit_code: i32,
    /// The exit applies to the first run only (a marker file in the shared
    /// volume remembers it); later runs go on until signalled.
    pub exit_first_run_only: bool,
    /// On SIGTERM: log `Term`, wait this many seconds, log `Exiting`, exit
    /// with [`Self::term_exit_code`]. `None`: log `Term` and carry on, so
    /// only SIGKILL ends it (a process that ignores SIGTERM).
    pub term_delay: Option<f64>,
    /// The exit code after SIGTERM.
    pub term_exit_code: i32,
}

impl ScriptOptions {
    /// Runs until SIGTERM, then exits 0 at once.
    pub fn new() -> Self {
        ScriptOptions {
            term_delay: Some(0.0),
            ..ScriptOptions::default()
        }
    }

    /// Waits `seconds` between `Starting` and `Started`.
    pub fn start_delay(mut self, seconds: f64) -> Self {
        self.start_delay = seconds;
        self
    }

    /// Exits with `code`, `seconds` after `Started`.
    pub fn exit_after(mut self, seconds: f64, code: i32) -> Self {
        self.exit_after = Some(seconds);
        self.exit_code = code;
        self
    }

    /// Only the first run exits on its own.
    pub fn first_run_only(mut self) -> Self {
        self.exit_first_run_only = true;
        self
    }

    /// On SIGTERM, takes `seconds` before exiting with `code`.
    pub fn on_term(mut self, seconds: f64, code: i32) -> Self {
        self.term_delay = Some(seconds);
        self.term_exit_code = code;
        self
    }

    /// Logs SIGTERM and ignores it: only SIGKILL ends it.
    pub fn ignore_term(mut self) -> Self {
        self.term_delay = None;
        self
    }
}

/// The shell code of a `log` function: `log <event> [detail]` appends one
/// timeline line for `container` (no fork: `read` is a shell builtin).
fn log_function(container: &str) -> String {
    format!(
        "log() {{ read up _ < /proc/uptime; echo \"$up {container} $*\" >> {SHARED_DIR}/{LOG_NAME}; }}"
    )
}

/// A busybox `sh -c` script for `container` that writes the timeline:
/// `Starting`, then after `start_delay` `Started` (and touches
/// `/tmp/started`, for startup probes: `test -e /tmp/started`), then runs or
/// exits as `options` say, logging `Exiting <code>` before it exits and
/// `Term` when SIGTERM arrives.
///
/// Waits are `sleep N & wait $!`, so a trap runs as soon as the signal comes
/// (a shell runs traps only between commands). The container's process is
/// pid 1 of its PID namespace, which the kernel protects from signals it has
/// no handler for: the trap is always set, and "ignoring" SIGTERM is a trap
/// that returns.
pub fn script(container: &str, options: &ScriptOptions) -> String {
    assert!(
        !container.is_empty()
            && container
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-'),
        "container names in scenarios are DNS labels: {container:?}"
    );
    let mut s = String::new();
    let _ = writeln!(s, "{}", log_function(container));
    match options.term_delay {
        Some(delay) => {
            let _ = writeln!(
                s,
                "on_term() {{ log {TERM}; {}log {EXITING} {code}; exit {code}; }}",
                pause(delay),
                code = options.term_exit_code
            );
        }
        None => {
            let _ = writeln!(s, "on_term() {{ log {TERM}; }}");
        }
    }
    let _ = writeln!(s, "trap on_term TERM");
    let _ = writeln!(s, "log {STARTING}");
    let _ = write!(s, "{}", pause(options.start_delay));
    let _ = writeln!(s, "log {STARTED}");
    let _ = writeln!(s, "touch /tmp/started");
    if let Some(after) = options.exit_after {
        let exit = format!(
            "{}log {EXITING} {code}; exit {code}",
            pause(after),
            code = options.exit_code
        );
        if options.exit_first_run_only {
            let marker = format!("{SHARED_DIR}/.{container}.exited-once");
            let _ = writeln!(s, "if [ ! -e {marker} ]; then touch {marker}; {exit}; fi");
        } else {
            let _ = writeln!(s, "{exit}");
        }
    }
    // Until signalled; `wait` returns early when a trap ran.
    let _ = writeln!(s, "while true; do sleep 3600 & wait $!; done");
    s
}

/// `sleep N & wait $!; ` (interruptible by traps), or nothing for 0.
fn pause(seconds: f64) -> String {
    if seconds <= 0.0 {
        String::new()
    } else {
        format!("sleep {seconds} & wait $!; ")
    }
}

/// An exec hook or probe command (`[sh, -c, ...]`) that appends
/// `<container> <event>` to the timeline: a preStop or postStart hook that
/// shows when it ran.
pub fn hook_command(container: &str, event: &str) -> Vec<String> {
    vec![
        "sh".to_owned(),
        "-c".to_owned(),
        format!("{}; log {event}", log_function(container)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sidecar scenario as a kubelet would run it: two sidecars and an
    /// app start in order, the app exits, the sidecars stop in reverse order.
    const SIDECARS: &str = "\
100.00 first-sidecar Starting
100.50 first-sidecar Started
101.00 second-sidecar Starting
101.50 second-sidecar Started
102.00 app Starting
102.01 app Started
103.00 app Exiting 0
103.05 second-sidecar Term
104.05 second-sidecar Exiting 0
104.10 first-sidecar Term
105.10 first-sidecar Exiting 0
";

    fn timeline(text: &str) -> Timeline {
        Timeline::parse(text).expect("parses")
    }

    #[test]
    fn lines_parse_into_entries_in_file_order_with_uptime_and_detail() {
        let t = timeline("8566.28 app Starting\n8570.02 app Exiting 0\n");
        assert_eq!(
            t.entries()[1],
            Entry {
                seq: 1,
                at: Duration::from_millis(8_570_020),
                container: "app".into(),
                event: "Exiting".into(),
                detail: "0".into(),
            }
        );
    }

    #[test]
    fn a_half_written_last_line_is_ignored_and_a_bad_line_is_an_error() {
        let t = timeline("1.00 app Starting\n1.01 app Sta");
        assert_eq!(t.entries().len(), 1);
        let err = Timeline::parse("1.00 app Starting\nbroken\n").unwrap_err();
        assert!(err.contains("line 2"), "{err}");
        let err = Timeline::parse("x.00 app Starting\n").unwrap_err();
        assert!(err.contains("bad uptime"), "{err}");
    }

    #[test]
    fn uptime_parses_with_any_number_of_decimals() {
        assert_eq!(parse_uptime("12.3"), Ok(Duration::from_millis(12_300)));
        assert_eq!(parse_uptime("12"), Ok(Duration::from_secs(12)));
        assert_eq!(parse_uptime("0.000000001"), Ok(Duration::from_nanos(1)));
        assert!(parse_uptime("-1.0").is_err());
        assert!(parse_uptime("1.").is_ok());
        assert!(parse_uptime("1.2.3").is_err());
    }

    #[test]
    fn sidecars_start_in_order_and_exit_in_reverse_order() {
        let t = timeline(SIDECARS);
        t.started_before("first-sidecar", "second-sidecar").unwrap();
        t.started_before("second-sidecar", "app").unwrap();
        t.starts_before("first-sidecar", "app").unwrap();
        t.exits_in_order(&["app", "second-sidecar", "first-sidecar"])
            .unwrap();
        t.exits_before_term("app", "second-sidecar").unwrap();
        t.exits_before_term("second-sidecar", "first-sidecar")
            .unwrap();
        t.run_together("first-sidecar", "app").unwrap();
        t.not_restarted("app").unwrap();
    }

    #[test]
    fn a_wrong_order_is_explained_with_the_whole_timeline() {
        let t = timeline(SIDECARS);
        let err = t.exits_before("first-sidecar", "app").unwrap_err();
        assert!(
            err.starts_with(
                "expected first-sidecar's last Exiting (line 11) before app's last Exiting (line 7)"
            ),
            "{err}"
        );
        assert!(
            err.contains("timeline (seconds since the first line"),
            "{err}"
        );
        assert!(
            err.contains("\n   11    5.10s first-sidecar  Exiting 0\n"),
            "{err}"
        );
        assert!(
            err.contains("\n    1    0.00s first-sidecar  Starting\n"),
            "{err}"
        );
        let err = t
            .exits_in_order(&["app", "first-sidecar", "second-sidecar"])
            .unwrap_err();
        assert!(
            err.starts_with("expected the exit order app → first-sidecar → second-sidecar: expected first-sidecar's last Exiting"),
            "{err}"
        );
        let err = t.started_before("app", "first-sidecar").unwrap_err();
        assert!(err.contains("expected app's first Started (line 6) before first-sidecar's first Starting (line 1)"), "{err}");
    }

    #[test]
    fn a_missing_line_is_named() {
        let t = timeline("1.00 init Starting\n1.10 init Exiting 1\n");
        let err = t.starts_before("init", "app").unwrap_err();
        assert!(
            err.starts_with("expected init's first Starting before app's first Starting, but there is no app's first Starting"),
            "{err}"
        );
        t.not_started("app").unwrap();
        let err = t.not_started("init").unwrap_err();
        assert!(err.contains("init was expected never to start"), "{err}");
        assert!(
            t.started("init")
                .unwrap_err()
                .contains("init never wrote Started")
        );
        assert!(timeline("").render().contains("(empty"));
    }

    #[test]
    fn restarts_are_counted_from_starting_lines() {
        let t = timeline(
            "1.00 side Starting\n1.00 side Started\n2.00 side Exiting 1\n\
             2.10 side Starting\n2.10 side Started\n3.00 app Starting\n",
        );
        assert_eq!(t.restart_count("side"), 1);
        t.has_restarted("side").unwrap();
        assert_eq!(t.restart_count("app"), 0);
        let err = t.has_restarted("app").unwrap_err();
        assert!(
            err.contains("app was expected to restart, but it wrote Starting 1 time(s)"),
            "{err}"
        );
        let err = t.not_restarted("side").unwrap_err();
        assert!(err.contains("2 time(s)"), "{err}");
        assert_eq!(t.restart_count("nobody"), 0);
    }

    #[test]
    fn runs_end_at_their_exit_or_at_the_next_start_when_killed() {
        let t = timeline(
            "1.00 c Starting\n2.00 c Term\n3.00 c Starting\n4.00 c Exiting 0\n5.00 c Starting\n",
        );
        assert_eq!(
            t.runs("c"),
            vec![
                Run {
                    start: 0,
                    end: Some(2),
                    exited: false
                },
                Run {
                    start: 2,
                    end: Some(3),
                    exited: true
                },
                Run {
                    start: 4,
                    end: None,
                    exited: false
                },
            ]
        );
    }

    #[test]
    fn run_together_needs_overlapping_runs() {
        let t = timeline(
            "1.00 init Starting\n1.10 init Exiting 0\n1.20 side Starting\n1.30 app Starting\n1.40 app Exiting 0\n",
        );
        t.run_together("side", "app").unwrap();
        t.run_together("app", "side").unwrap();
        let err = t.run_together("init", "app").unwrap_err();
        assert!(
            err.contains("init and app were expected to run together, but their runs do not overlap (init: lines 1–2; app: lines 4–5)"),
            "{err}"
        );
        let err = t.run_together("init", "ghost").unwrap_err();
        assert!(err.contains("ghost: never ran"), "{err}");
    }

    #[test]
    fn restart_delays_are_measured_from_the_previous_exit_and_show_back_off_growth() {
        let t = timeline(
            "10.00 c Starting\n10.00 c Exiting 1\n10.05 c Starting\n10.06 c Exiting 1\n\
             11.06 c Starting\n11.07 c Exiting 1\n13.07 c Starting\n13.08 c Exiting 1\n\
             17.08 c Starting\n",
        );
        let ms = |v: Vec<Duration>| v.iter().map(|d| d.as_millis()).collect::<Vec<_>>();
        assert_eq!(ms(t.restart_delays("c")), [50, 1000, 2000, 4000]);
        assert_eq!(ms(t.start_gaps("c")), [50, 1010, 2010, 4010]);
    }

    #[test]
    fn events_are_bounded_in_time_from_a_host_uptime() {
        let t = timeline("10.00 app Started\n20.50 app PreStop\n21.00 side PreStop\n");
        let from = Duration::from_millis(20_400);
        t.happened_within("app", PRE_STOP, from, Duration::from_secs(1))
            .unwrap();
        let err = t
            .happened_within("side", PRE_STOP, from, Duration::from_millis(300))
            .unwrap_err();
        assert!(
            err.starts_with("side PreStop came 0.60s after uptime 20.40s"),
            "{err}"
        );
        assert!(
            t.happened_within("app", STARTED, from, Duration::from_secs(1))
                .is_err()
        );
        // A line in the same hundredth as `from` counts.
        t.happened_within(
            "app",
            PRE_STOP,
            Duration::from_millis(20_505),
            Duration::ZERO,
        )
        .unwrap();
    }

    #[test]
    fn event_before_compares_any_two_events() {
        let t = timeline("1.00 app PreStop\n1.10 side PreStop\n1.20 app Term\n");
        t.event_before(("app", PRE_STOP), ("app", TERM)).unwrap();
        t.event_before(("side", PRE_STOP), ("app", TERM)).unwrap();
        assert!(t.event_before(("app", TERM), ("side", PRE_STOP)).is_err());
    }

    #[test]
    fn the_script_logs_start_exit_and_term_through_a_forkless_log_function() {
        let s = script(
            "app",
            &ScriptOptions::new().start_delay(0.5).exit_after(2.0, 3),
        );
        assert_eq!(
            s,
            "log() { read up _ < /proc/uptime; echo \"$up app $*\" >> /shared/timeline.log; }\n\
             on_term() { log Term; log Exiting 0; exit 0; }\n\
             trap on_term TERM\n\
             log Starting\n\
             sleep 0.5 & wait $!; log Started\n\
             touch /tmp/started\n\
             sleep 2 & wait $!; log Exiting 3; exit 3\n\
             while true; do sleep 3600 & wait $!; done\n"
        );
    }

    #[test]
    fn the_script_can_ignore_term_or_take_time_and_crash_only_once() {
        let s = script("side", &ScriptOptions::new().ignore_term());
        assert!(s.contains("on_term() { log Term; }\n"), "{s}");
        let s = script("side", &ScriptOptions::new().on_term(1.5, 7));
        assert!(
            s.contains("on_term() { log Term; sleep 1.5 & wait $!; log Exiting 7; exit 7; }"),
            "{s}"
        );
        let s = script(
            "side",
            &ScriptOptions::new().exit_after(1.0, 1).first_run_only(),
        );
        assert!(
            s.contains(
                "if [ ! -e /shared/.side.exited-once ]; then touch /shared/.side.exited-once; \
                 sleep 1 & wait $!; log Exiting 1; exit 1; fi\n"
            ),
            "{s}"
        );
    }

    #[test]
    fn hook_commands_log_their_event() {
        assert_eq!(
            hook_command("app", PRE_STOP),
            [
                "sh",
                "-c",
                "log() { read up _ < /proc/uptime; echo \"$up app $*\" >> /shared/timeline.log; }; log PreStop"
            ]
        );
    }

    /// The scripts really run under a shell and write what the parser reads
    /// (the host's sh with a temporary directory for /shared; no root).
    #[test]
    fn a_script_run_by_a_real_shell_writes_a_parsable_timeline() {
        let Some(sh) = ["/bin/busybox", "/bin/sh"]
            .into_iter()
            .find(|p| Path::new(p).exists())
        else {
            return;
        };
        let dir = std::env::temp_dir().join(format!("minipod-timeline-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let text = script("app", &ScriptOptions::new().exit_after(0.0, 4))
            .replace(SHARED_DIR, dir.to_str().unwrap())
            .replace("/tmp/started", dir.join("started").to_str().unwrap());
        let mut command = std::process::Command::new(sh);
        if sh.ends_with("busybox") {
            command.arg("sh");
        }
        let status = command.arg("-c").arg(&text).status().unwrap();
        let t = Timeline::read(&dir.join(LOG_NAME)).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(status.code(), Some(4));
        let events: Vec<&str> = t.entries().iter().map(|e| e.event.as_str()).collect();
        assert_eq!(events, [STARTING, STARTED, EXITING], "{}", t.render());
        assert_eq!(t.entries()[2].detail, "4");
        assert!(t.entries()[0].at <= host_uptime());
    }
}
