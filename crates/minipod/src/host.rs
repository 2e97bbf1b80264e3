//! Facts about the host that planning and admission need.

use anyhow::{Context, Result, bail};
use minipod_plan::capacity::CpuAndMemory;

/// The node's capacity as the kubelet reports it: CPUs in millicores and
/// memory in bytes ([`cpu_capacity_millis`], [`memory_capacity_bytes`]).
pub fn node_capacity() -> Result<CpuAndMemory> {
    Ok(CpuAndMemory {
        cpu_millis: cpu_capacity_millis()?,
        memory_bytes: memory_capacity_bytes()?,
    })
}

/// The CPUs this process may run on, in millicores: the `Cpus_allowed_list`
/// of `/proc/self/status` (what `sched_getaffinity(2)` returns, read
/// without a system call). The kubelet counts the machine's CPUs; on a
/// host where minipod is confined to some of them (`taskset`, a cpuset),
/// only those can run its pods, so only those are offered.
pub fn cpu_capacity_millis() -> Result<i64> {
    let status =
        std::fs::read_to_string("/proc/self/status").context("reading /proc/self/status")?;
    let cpus = status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .context("/proc/self/status has no Cpus_allowed_list line")?;
    let count = count_cpu_list(cpus.trim())
        .with_context(|| format!("/proc/self/status: bad Cpus_allowed_list {cpus:?}"))?;
    Ok(count.saturating_mul(1000))
}

/// How many CPUs a kernel CPU list names: `0-3,8,10-11` is 7
/// (<https://docs.kernel.org/admin-guide/cgroup-v1/cpusets.html>, "List format").
fn count_cpu_list(list: &str) -> Result<i64> {
    let mut count: i64 = 0;
    for part in list.split(',').filter(|p| !p.is_empty()) {
        let (first, last) = match part.split_once('-') {
            Some((a, b)) => (a.parse::<i64>()?, b.parse::<i64>()?),
            None => {
                let cpu = part.parse::<i64>()?;
                (cpu, cpu)
            }
        };
        if last < first {
            bail!("range {part:?} ends before it starts");
        }
        count = count.saturating_add(last - first + 1);
    }
    if count == 0 {
        bail!("no CPU");
    }
    Ok(count)
}

/// Total memory of this host in bytes, as the kubelet reads it (`MemTotal`
/// of `/proc/meminfo`, through cAdvisor).
pub fn memory_capacity_bytes() -> Result<i64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").context("reading /proc/meminfo")?;
    parse_mem_total(&meminfo).context("/proc/meminfo has no usable MemTotal line")
}

fn parse_mem_total(meminfo: &str) -> Result<i64> {
    let Some(line) = meminfo.lines().find(|l| l.starts_with("MemTotal:")) else {
        bail!("no MemTotal line");
    };
    let kib: i64 = line
        .trim_start_matches("MemTotal:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .with_context(|| format!("bad MemTotal line {line:?}"))?;
    kib.checked_mul(1024).context("MemTotal overflows")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mem_total_is_read_in_bytes() {
        let meminfo = "MemTotal:       24563812 kB\nMemFree:        1000 kB\n";
        assert_eq!(parse_mem_total(meminfo).unwrap(), 24_563_812 * 1024);
    }

    #[test]
    fn a_missing_mem_total_is_an_error() {
        assert!(parse_mem_total("MemFree: 1 kB\n").is_err());
    }

    #[test]
    fn cpu_lists_are_counted() {
        assert_eq!(count_cpu_list("0").unwrap(), 1);
        assert_eq!(count_cpu_list("0-1").unwrap(), 2);
        assert_eq!(count_cpu_list("0-3,8,10-11").unwrap(), 7);
        for bad in ["", "x", "3-1", "0-"] {
            assert!(count_cpu_list(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn this_host_reports_some_cpus() {
        assert!(cpu_capacity_millis().unwrap() >= 1000);
    }

    #[test]
    fn this_host_reports_some_memory() {
        assert!(memory_capacity_bytes().unwrap() > 0);
    }
}
