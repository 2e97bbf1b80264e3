//! Facts about the host that planning and admission need.

use std::num::ParseIntError;

use minipod_plan::capacity::CpuAndMemory;

/// The host's capacity cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error("reading {file}")]
    Read {
        file: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("/proc/self/status has no Cpus_allowed_list line")]
    NoCpusAllowedList,
    #[error("/proc/self/status: bad Cpus_allowed_list {list:?}")]
    BadCpusAllowedList {
        list: String,
        #[source]
        source: CpuListError,
    },
    #[error("/proc/meminfo has no usable MemTotal line")]
    MemTotal(#[source] MemTotalError),
}

/// A kernel CPU list that cannot be counted.
#[derive(Debug, thiserror::Error)]
pub enum CpuListError {
    #[error(transparent)]
    Number(#[from] ParseIntError),
    #[error("range {0:?} ends before it starts")]
    Backwards(String),
    #[error("no CPU")]
    Empty,
}

/// A `/proc/meminfo` without a usable `MemTotal` line.
#[derive(Debug, thiserror::Error)]
pub enum MemTotalError {
    #[error("no MemTotal line")]
    Missing,
    #[error("bad MemTotal line {line:?}")]
    Bad {
        line: String,
        #[source]
        source: ParseIntError,
    },
    #[error("MemTotal overflows")]
    Overflow,
}

/// The node's capacity as the kubelet reports it: CPUs in millicores and
/// memory in bytes ([`cpu_capacity_millis`], [`memory_capacity_bytes`]).
pub fn node_capacity() -> Result<CpuAndMemory, HostError> {
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
pub fn cpu_capacity_millis() -> Result<i64, HostError> {
    let status = read("/proc/self/status")?;
    let cpus = status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .ok_or(HostError::NoCpusAllowedList)?;
    let count = count_cpu_list(cpus.trim()).map_err(|source| HostError::BadCpusAllowedList {
        list: cpus.to_owned(),
        source,
    })?;
    Ok(count.saturating_mul(1000))
}

fn read(file: &'static str) -> Result<String, HostError> {
    std::fs::read_to_string(file).map_err(|source| HostError::Read { file, source })
}

/// How many CPUs a kernel CPU list names: `0-3,8,10-11` is 7
/// (<https://docs.kernel.org/admin-guide/cgroup-v1/cpusets.html>, "List format").
fn count_cpu_list(list: &str) -> Result<i64, CpuListError> {
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
            return Err(CpuListError::Backwards(part.to_owned()));
        }
        count = count.saturating_add(last - first + 1);
    }
    if count == 0 {
        return Err(CpuListError::Empty);
    }
    Ok(count)
}

/// Total memory of this host in bytes, as the kubelet reads it (`MemTotal`
/// of `/proc/meminfo`, through cAdvisor).
pub fn memory_capacity_bytes() -> Result<i64, HostError> {
    let meminfo = read("/proc/meminfo")?;
    parse_mem_total(&meminfo).map_err(HostError::MemTotal)
}

fn parse_mem_total(meminfo: &str) -> Result<i64, MemTotalError> {
    let Some(line) = meminfo.lines().find(|l| l.starts_with("MemTotal:")) else {
        return Err(MemTotalError::Missing);
    };
    let kib: i64 = line
        .trim_start_matches("MemTotal:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .map_err(|source| MemTotalError::Bad {
            line: line.to_owned(),
            source,
        })?;
    kib.checked_mul(1024).ok_or(MemTotalError::Overflow)
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
