//! The bench's tables: each network's times, then the medians side by
//! side with what each network adds to the pod without one (issue 13's
//! speed target: under 15 ms added to the start and to the stop by the
//! default network).

use std::time::Duration;

use minipod_linux::cgroup::{CgroupRoot, CgroupVersion};

use crate::network::Mode;
use crate::{Args, Memory, Run, WARMUP};

/// One row of a table: a time of a run, when the run has it.
type Phase = fn(&Run) -> Option<Duration>;

const ROWS: [(&str, Phase); 7] = [
    ("start: spawn -> all running", |r| Some(r.start)),
    ("  spawn -> init Started", |r| Some(r.to_init)),
    ("  init Started -> sidecar Started", |r| {
        Some(r.init_to_sidecar)
    }),
    ("  sidecar Started -> app Started", |r| {
        Some(r.sidecar_to_app)
    }),
    ("  spawn -> network attached", |r| r.attached),
    ("stop: SIGINT -> process exit", |r| Some(r.stop)),
    ("  SIGINT -> network torn down", |r| r.detached),
];

/// The budget for the default network, on the start and the stop.
const BUDGET: Duration = Duration::from_millis(15);

pub fn report(args: &Args, root: &CgroupRoot, networks: &str, runs: &[(Mode, Vec<Run>)]) {
    let version = match root.version() {
        CgroupVersion::V1 => "v1",
        CgroupVersion::V2 => "v2",
    };
    println!(
        "minipod-bench-pod: {} runs of `minipod run` per network on a 3-container pod (init `true`, native sidecar, app; busybox, image present) (+{WARMUP} warm-up), networks interleaved, cgroup {version}, {} build",
        args.count,
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    println!("{networks}");
    for (mode, runs) in runs {
        println!();
        println!(
            "{:<38} {:>9} {:>9} {:>9} {:>9}",
            format!("network {}: time (ms)", mode.label()),
            "median",
            "p90",
            "min",
            "max"
        );
        for (name, field) in ROWS {
            let Some(values) = sorted(runs, field) else {
                continue;
            };
            println!(
                "{name:<38} {:>9.3} {:>9.3} {:>9.3} {:>9.3}",
                ms(percentile(&values, 50)),
                ms(percentile(&values, 90)),
                ms(values[0]),
                ms(values[values.len() - 1])
            );
        }
        println!("{}", memory_line(runs));
    }
    side_by_side(runs);
}

/// The medians of every network in columns, and each network's difference
/// to `none`.
fn side_by_side(runs: &[(Mode, Vec<Run>)]) {
    let base = runs.iter().find(|(m, _)| *m == Mode::None);
    let others: Vec<&(Mode, Vec<Run>)> = runs.iter().filter(|(m, _)| *m != Mode::None).collect();
    println!();
    let mut head = format!("{:<38}", "medians (ms)");
    for (mode, _) in runs {
        head.push_str(&format!(" {:>9}", mode.label()));
    }
    if base.is_some() {
        for (mode, _) in &others {
            head.push_str(&format!(" {:>12}", format!("{}-none", mode.label())));
        }
    }
    println!("{head}");
    for (name, field) in ROWS {
        let medians: Vec<Option<Duration>> = runs.iter().map(|(_, r)| median(r, field)).collect();
        if medians.iter().all(Option::is_none) {
            continue;
        }
        let mut line = format!("{name:<38}");
        for m in &medians {
            line.push_str(&match m {
                Some(d) => format!(" {:>9.1}", ms(*d)),
                None => format!(" {:>9}", "-"),
            });
        }
        if let Some((_, base)) = base {
            for (_, other) in &others {
                line.push_str(&match (median(other, field), median(base, field)) {
                    (Some(o), Some(b)) => format!(" {:>+12.1}", ms(o) - ms(b)),
                    _ => format!(" {:>12}", "-"),
                });
            }
        }
        println!("{line}");
    }
    if let (Some((_, base)), Some((_, native))) =
        (base, runs.iter().find(|(m, _)| *m == Mode::Native))
    {
        let added = |field: Phase| {
            let (n, b) = (median(native, field), median(base, field));
            n.zip(b).map(|(n, b)| n.as_secs_f64() - b.as_secs_f64())
        };
        let verdict = |secs: Option<f64>| match secs {
            Some(s) if s < BUDGET.as_secs_f64() => format!("met ({:+.1} ms)", s * 1000.0),
            Some(s) => format!("NOT met ({:+.1} ms)", s * 1000.0),
            None => "-".into(),
        };
        println!(
            "target: the native default network adds under {} ms to the start: {}; to the stop: {}",
            BUDGET.as_millis(),
            verdict(added(ROWS[0].1)),
            verdict(added(ROWS[5].1)),
        );
    }
}

/// The monitor's memory on one network, and the targets of the pod bench.
fn memory_line(runs: &[Run]) -> String {
    let samples: Vec<Memory> = runs.iter().flat_map(|r| r.memory).collect();
    let max = |f: fn(&Memory) -> u64| samples.iter().map(f).max().unwrap_or(0);
    let largest = samples
        .iter()
        .max_by_key(|m| m.rss)
        .copied()
        .unwrap_or_default();
    let mut at_start: Vec<u64> = runs.iter().map(|r| r.memory[0].rss).collect();
    at_start.sort();
    let median_start = median(runs, ROWS[0].1).unwrap_or_default();
    format!(
        "monitor memory (the `minipod run` process, all containers running): VmRSS max {:.1} MiB (median {:.1} MiB as the app starts), VmHWM max {:.1} MiB; the largest RSS is {:.1} MiB anonymous + {:.1} MiB file-backed\n\
         target: all running under 100 ms: {} (median {:.1} ms); monitor RSS under 5 MiB: {} (max {:.1} MiB)",
        mib(max(|m| m.rss)),
        mib(at_start[at_start.len() / 2]),
        mib(max(|m| m.hwm)),
        mib(largest.anon),
        mib(largest.file),
        met(median_start < Duration::from_millis(100)),
        ms(median_start),
        met(max(|m| m.rss) < 5 * 1024),
        mib(max(|m| m.rss)),
    )
}

/// A phase's values, sorted; `None` when no run has it.
fn sorted(runs: &[Run], field: Phase) -> Option<Vec<Duration>> {
    let mut values: Vec<Duration> = runs.iter().filter_map(field).collect();
    if values.is_empty() {
        return None;
    }
    values.sort();
    Some(values)
}

fn median(runs: &[Run], field: Phase) -> Option<Duration> {
    sorted(runs, field).map(|v| percentile(&v, 50))
}

fn met(yes: bool) -> &'static str {
    if yes { "met" } else { "NOT met" }
}

/// The `p`th percentile of sorted values (nearest rank).
fn percentile(sorted: &[Duration], p: usize) -> Duration {
    let rank = (sorted.len() * p).div_ceil(100).max(1);
    sorted[rank - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}
