//! Facts about the host that planning needs.

use anyhow::{Context, Result, bail};

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
    fn this_host_reports_some_memory() {
        assert!(memory_capacity_bytes().unwrap() > 0);
    }
}
