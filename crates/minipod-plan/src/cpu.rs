//! CPU unit conversions: millicores → cgroup v1 `cpu.shares` and CFS quota,
//! and cgroup v1 shares → cgroup v2 `cpu.weight`.
//!
//! The first two follow the kubelet (`pkg/kubelet/cm/helpers_linux.go`,
//! `MilliCPUToShares` and `MilliCPUToQuota`); they are integer-only. The
//! third is what the OCI runtime (runc ≥ 1.3 / opencontainers/cgroups ≥
//! 0.0.5, `ConvertCPUSharesToCgroupV2Value`) writes to `cpu.weight` when it is
//! handed the kubelet's shares on a cgroup v2 host; see [`shares_to_weight`].
//!
//! Arithmetic is done in `i128`, so no input overflows; results are clamped to
//! the ranges the kernel accepts, exactly as the kubelet clamps them.

/// The smallest `cpu.shares` the kernel accepts (and what "no request" gets).
pub const MIN_SHARES: u64 = 2;
/// The largest `cpu.shares` the kernel accepts (`1 << 18`).
pub const MAX_SHARES: u64 = 262_144;
/// `cpu.shares` for one whole CPU.
pub const SHARES_PER_CPU: i64 = 1024;
/// Millicores per CPU.
pub const MILLI_CPU_PER_CPU: i64 = 1000;
/// The CFS period the kubelet uses (100 ms), in microseconds.
pub const QUOTA_PERIOD_US: i64 = 100_000;
/// The smallest CFS quota the kernel accepts (1 ms), in microseconds.
pub const MIN_QUOTA_US: i64 = 1000;
/// The largest cgroup v2 `cpu.weight`.
pub const MAX_WEIGHT: u64 = 10_000;

/// `cpu.shares` for a CPU amount in millicores: 1024 per CPU, rounded down,
/// clamped to `[2, 262144]`; `0` (nothing requested) gives the minimum, 2.
pub fn milli_cpu_to_shares(milli_cpu: i64) -> u64 {
    if milli_cpu == 0 {
        return MIN_SHARES;
    }
    let shares = i128::from(milli_cpu) * i128::from(SHARES_PER_CPU) / i128::from(MILLI_CPU_PER_CPU);
    // The clamp makes the value fit: MIN_SHARES ≤ shares ≤ MAX_SHARES.
    shares.clamp(i128::from(MIN_SHARES), i128::from(MAX_SHARES)) as u64
}

/// The CFS quota (µs per `period_us`) for a CPU limit in millicores, or
/// `None` for no quota (a limit of `0` means "no limit"). The quota is
/// rounded down and raised to at least 1 ms, the kernel's minimum.
pub fn milli_cpu_to_quota(milli_cpu: i64, period_us: i64) -> Option<i64> {
    if milli_cpu == 0 {
        return None;
    }
    let quota = i128::from(milli_cpu) * i128::from(period_us) / i128::from(MILLI_CPU_PER_CPU);
    let quota = quota.clamp(i128::from(MIN_QUOTA_US), i128::from(i64::MAX));
    Some(i64::try_from(quota).unwrap_or(i64::MAX))
}

/// The cgroup v2 `cpu.weight` the runtime writes for cgroup v1 `shares`.
///
/// This is the formula of runc ≥ 1.3.x (opencontainers/cgroups ≥ v0.0.5,
/// introduced for kubernetes/kubernetes#131216): a quadratic in `log2(shares)`
/// chosen so that the minimum, the default and the maximum line up —
/// 2 → 1, 1024 (one CPU, the v1 default) → 100 (the v2 default),
/// 262144 → 10000. The older linear formula mapped 1024 to 39, so a one-CPU
/// container weighed less than an unconfigured process. Kubernetes' own e2e
/// tests accept both; minipod writes cgroups itself, so it picks the one that
/// current runtimes use and that keeps 1 CPU at the v2 default weight.
///
/// ```text
/// shares = 0         → 0   (unset; not reachable from the kubelet, which never asks for < 2)
/// shares ≤ 2         → 1
/// shares ≥ 262144    → 10000
/// otherwise          → ceil(10^((l² + 125·l) / 612 − 7/34)),  l = log2(shares)
/// ```
///
/// This is the only floating-point computation in minipod's planning: it is
/// done in `f64` step by step exactly as the runtime does it, because the
/// result must equal what the runtime writes. (Checked against the Go
/// implementation for every shares value in 0..=262150: identical; the only
/// input whose exact value is an integer, 1024 → 100, does not round up.)
pub fn shares_to_weight(shares: u64) -> u64 {
    if shares == 0 {
        return 0;
    }
    if shares <= MIN_SHARES {
        return 1;
    }
    if shares >= MAX_SHARES {
        return MAX_WEIGHT;
    }
    // shares < 2^18 is exact in f64.
    let l = (shares as f64).log2();
    let exponent = (l * l + 125.0 * l) / 612.0 - 7.0 / 34.0;
    // 1 ≤ 10^exponent ≤ 10000 for 2 < shares < 262144, so the cast is exact.
    10f64.powf(exponent).ceil() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn milli_cpu_to_shares_matches_the_kubelet_table() {
        // pkg/kubelet/cm/helpers_linux_test.go and spec §3.1
        let cases = [
            (0, 2),
            (1, MIN_SHARES),
            (100, 102),
            (200, 204),
            (250, 256),
            (1000, 1024),
            (1100, 1126),
            (256_000, 262_144),
            (300_000, MAX_SHARES),
            (i64::MAX, MAX_SHARES),
        ];
        for (milli, shares) in cases {
            assert_eq!(milli_cpu_to_shares(milli), shares, "{milli}m");
        }
    }

    #[test]
    fn milli_cpu_to_quota_matches_the_kubelet_table() {
        let cases = [
            (0, None),
            (5, Some(1000)),
            (9, Some(1000)),
            (10, Some(1000)),
            (200, Some(20_000)),
            (500, Some(50_000)),
            (1000, Some(100_000)),
            (1500, Some(150_000)),
        ];
        for (milli, quota) in cases {
            assert_eq!(
                milli_cpu_to_quota(milli, QUOTA_PERIOD_US),
                quota,
                "{milli}m"
            );
        }
    }

    #[test]
    fn a_tiny_cpu_limit_still_gets_the_kernel_minimum_quota() {
        assert_eq!(milli_cpu_to_quota(1, QUOTA_PERIOD_US), Some(MIN_QUOTA_US));
    }

    #[test]
    fn huge_cpu_limits_do_not_overflow() {
        assert_eq!(
            milli_cpu_to_quota(i64::MAX, QUOTA_PERIOD_US),
            Some(i64::MAX)
        );
    }

    #[test]
    fn shares_to_weight_hits_the_anchors_of_the_new_runc_formula() {
        // Anchors from runc's tests and the kubelet e2e copy of the formula,
        // plus values computed from the formula (and checked against Go).
        let cases = [
            (0, 0),
            (1, 1),
            (2, 1),
            (3, 2),
            (100, 17),
            (102, 17),
            (512, 59),
            (1024, 100),
            (2048, 174),
            (262_143, 10_000),
            (262_144, 10_000),
            (1 << 20, 10_000),
        ];
        for (shares, weight) in cases {
            assert_eq!(shares_to_weight(shares), weight, "{shares} shares");
        }
    }

    #[test]
    fn shares_to_weight_is_monotonic_and_in_range_over_all_shares() {
        let mut previous = shares_to_weight(MIN_SHARES);
        assert_eq!(previous, 1);
        for shares in MIN_SHARES + 1..=MAX_SHARES {
            let weight = shares_to_weight(shares);
            assert!(weight >= previous, "{shares} shares: {weight} < {previous}");
            assert!((1..=MAX_WEIGHT).contains(&weight));
            previous = weight;
        }
        assert_eq!(previous, MAX_WEIGHT);
    }
}
