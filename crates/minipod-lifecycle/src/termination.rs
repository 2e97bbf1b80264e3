//! Stopping a pod: who waits for whom, and how long each container gets.
//!
//! Mirrors the kubelet's termination ordering
//! (`pkg/kubelet/kuberuntime/kuberuntime_termination_order.go`:
//! `newTerminationOrdering`, `waitForTurn`) and the grace budget of
//! `killContainer` / `setTerminationGracePeriod`
//! (`pkg/kubelet/kuberuntime/kuberuntime_container.go`). Spec §4.7.
//!
//! Every running container is stopped concurrently, each by the same steps:
//! take its grace ([`grace_period`]); run its preStop hook within it; wait
//! for its turn ([`TerminationOrder`]) within what is left; then ask the
//! runtime to stop it with the rest, never less than 2 s ([`GraceBudget`]).
//! No clock: elapsed times are inputs.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use minipod_spec::defaults::DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS;
use minipod_spec::model::{Container, PodSpec};

/// `minimumGracePeriodInSeconds`: the least time between the stop signal and
/// SIGKILL, whatever the budget left.
pub const MINIMUM_GRACE_SECONDS: i64 = 2;

/// Why a container is being killed, as far as its grace is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KillCause {
    /// Pod deletion, pod kill (Job done, init failure under Never), spec change.
    Stop,
    /// Its liveness probe failed.
    LivenessProbe,
    /// Its startup probe failed.
    StartupProbe,
}

/// The grace, in seconds, of killing `container` of `spec`
/// (`setTerminationGracePeriod`, then `killContainer`'s override):
///
/// 1. `override_grace` (a caller-supplied override, e.g. hard eviction) wins;
/// 2. else the pod's deletion grace, if it is being deleted;
/// 3. else, for a probe kill, that probe's `terminationGracePeriodSeconds`;
/// 4. else `spec.terminationGracePeriodSeconds`.
///
/// The API server defaults `terminationGracePeriodSeconds` to 30
/// (`SetDefaults_PodSpec`; `docs/kubernetes-semantics.md` §1), and so does
/// admission (`minipod_spec::defaults`), so an admitted pod always has it;
/// a raw spec without it (kubectl's view of any pod, a unit test) gets the
/// same default here.
///
/// A name the spec does not have just gets the pod's grace.
pub fn grace_period(
    spec: &PodSpec,
    container: &str,
    cause: KillCause,
    deletion_grace: Option<i64>,
    override_grace: Option<i64>,
) -> i64 {
    if let Some(grace) = override_grace.or(deletion_grace) {
        return grace;
    }
    let probe = find(spec, container).and_then(|c| match cause {
        KillCause::Stop => None,
        KillCause::LivenessProbe => c.liveness_probe.as_ref(),
        KillCause::StartupProbe => c.startup_probe.as_ref(),
    });
    probe
        .and_then(|p| p.termination_grace_period_seconds)
        .or(spec.termination_grace_period_seconds)
        .unwrap_or(DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS)
}

fn find<'a>(spec: &'a PodSpec, name: &str) -> Option<&'a Container> {
    spec.init_containers
        .iter()
        .chain(&spec.containers)
        .find(|c| c.name == name)
}

/// Whether `container` of `spec` has a preStop hook (which then runs first,
/// within the grace).
pub fn has_pre_stop(spec: &PodSpec, container: &str) -> bool {
    find(spec, container)
        .and_then(|c| c.lifecycle.as_ref())
        .is_some_and(|l| l.pre_stop.is_some())
}

/// The order of a pod's termination (`terminationOrdering`): for each
/// container, the running containers whose exit it must await before its
/// stop signal.
///
/// * app containers and regular init containers: nobody;
/// * each sidecar: every app container and the next sidecar declared after
///   it (regular init containers in between are skipped).
///
/// So sidecars stop after all apps, in reverse spec order. A container that
/// was not running when the termination began counts as already exited (the
/// kubelet pre-closes its channel), so it is never waited for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TerminationOrder<'a> {
    prereqs: BTreeMap<&'a str, Vec<&'a str>>,
}

impl<'a> TerminationOrder<'a> {
    /// The order for `spec` when the containers named in `running` are running.
    pub fn new(spec: &'a PodSpec, running: &[&str]) -> Self {
        let is_running = |name: &str| running.contains(&name);
        let apps: Vec<&'a str> = spec
            .containers
            .iter()
            .map(|c| c.name.as_str())
            .filter(|name| is_running(name))
            .collect();
        let mut prereqs = BTreeMap::new();
        let mut next_sidecar: Option<&'a str> = None;
        for sidecar in spec
            .init_containers
            .iter()
            .rev()
            .filter(|c| c.is_restartable_init())
        {
            let mut waits = apps.clone();
            waits.extend(next_sidecar.filter(|name| is_running(name)));
            prereqs.insert(sidecar.name.as_str(), waits);
            next_sidecar = Some(sidecar.name.as_str());
        }
        Self { prereqs }
    }

    /// The running containers `name` must see exit before its stop signal,
    /// apps first in spec order, then the next sidecar. Empty for apps,
    /// regular init containers, unknown names, and pods without sidecars.
    pub fn waits_for(&self, name: &str) -> Vec<&'a str> {
        self.prereqs.get(name).cloned().unwrap_or_default()
    }

    /// Whether `name` may get its stop signal once the containers in
    /// `exited` have exited (the end of `waitForTurn`, grace permitting).
    pub fn ready_to_stop(&self, name: &str, exited: &BTreeSet<&str>) -> bool {
        self.prereqs
            .get(name)
            .is_none_or(|waits| waits.iter().all(|w| exited.contains(w)))
    }
}

/// What is left of one container's grace as its termination goes on
/// (`killContainer`). Times spent are deducted in whole seconds, truncated,
/// each step on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GraceBudget {
    seconds: i64,
}

impl GraceBudget {
    /// A budget of `grace` seconds ([`grace_period`]).
    pub fn new(grace: i64) -> Self {
        Self { seconds: grace }
    }

    /// Seconds left (may be zero or negative once spent).
    pub fn remaining(self) -> i64 {
        self.seconds
    }

    /// How long the preStop hook may run, or `None` when there is no time
    /// for it (grace ≤ 0: the hook is skipped).
    pub fn pre_stop_timeout(self) -> Option<Duration> {
        self.positive()
    }

    /// The budget after a preStop hook that ran `elapsed`.
    #[must_use]
    pub fn after_pre_stop(self, elapsed: Duration) -> Self {
        self.spend(elapsed)
    }

    /// How long to wait for this container's turn at most, or `None` when
    /// no time is left (no waiting at all).
    pub fn wait_timeout(self) -> Option<Duration> {
        self.positive()
    }

    /// The budget after waiting `elapsed` for this container's turn.
    #[must_use]
    pub fn after_wait(self, elapsed: Duration) -> Self {
        self.spend(elapsed)
    }

    /// The timeout handed to the runtime: seconds between the stop signal
    /// and SIGKILL, at least [`MINIMUM_GRACE_SECONDS`].
    pub fn stop_timeout(self) -> i64 {
        self.seconds.max(MINIMUM_GRACE_SECONDS)
    }

    fn positive(self) -> Option<Duration> {
        (self.seconds > 0).then(|| Duration::from_secs(self.seconds.unsigned_abs()))
    }

    fn spend(self, elapsed: Duration) -> Self {
        let whole = i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX);
        Self {
            seconds: self.seconds.saturating_sub(whole),
        }
    }
}

/// The stop timeout (seconds, ≥ 2) of a container with `grace` seconds whose
/// preStop hook ran `pre_stop_elapsed` (`None`: no hook) and that waited
/// `wait_elapsed` for its turn (`None`: no ordering). Each step happens only
/// while some grace is left, as in `killContainer`.
pub fn stop_timeout(
    grace: i64,
    pre_stop_elapsed: Option<Duration>,
    wait_elapsed: Option<Duration>,
) -> i64 {
    let mut budget = GraceBudget::new(grace);
    if let (Some(elapsed), Some(_)) = (pre_stop_elapsed, budget.pre_stop_timeout()) {
        budget = budget.after_pre_stop(elapsed);
    }
    if let (Some(elapsed), Some(_)) = (wait_elapsed, budget.wait_timeout()) {
        budget = budget.after_wait(elapsed);
    }
    budget.stop_timeout()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::spec;

    /// Two sidecars around a regular init container, two apps.
    const SIDECARS: &str = "{initContainers: [\
        {name: s1, image: x, restartPolicy: Always}, \
        {name: init, image: x}, \
        {name: s2, image: x, restartPolicy: Always}, \
        {name: s3, image: x, restartPolicy: Always}], \
        containers: [{name: a1, image: x}, {name: a2, image: x}]}";
    const ALL: &[&str] = &["s1", "s2", "s3", "a1", "a2"];

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    #[test]
    fn who_waits_for_whom() {
        let pod = spec(SIDECARS);
        let cases: &[(&str, &[&str], &str, &[&str])] = &[
            ("apps wait for nobody", ALL, "a1", &[]),
            (
                "the last sidecar waits for the apps",
                ALL,
                "s3",
                &["a1", "a2"],
            ),
            (
                "a sidecar waits for the next one",
                ALL,
                "s2",
                &["a1", "a2", "s3"],
            ),
            (
                "regular init containers are skipped",
                ALL,
                "s1",
                &["a1", "a2", "s2"],
            ),
            (
                "a regular init container waits for nobody",
                &["init"],
                "init",
                &[],
            ),
            ("an unknown name waits for nobody", ALL, "ghost", &[]),
            (
                "a not-running app is not waited for",
                &["s1", "s2", "s3", "a2"],
                "s3",
                &["a2"],
            ),
            (
                "a not-running next sidecar is not waited for, nor the one after",
                &["s1", "s3", "a1"],
                "s1",
                &["a1"],
            ),
            (
                "apps all gone: the last sidecar goes at once",
                &["s3"],
                "s3",
                &[],
            ),
        ];
        for (name, running, container, want) in cases {
            let order = TerminationOrder::new(&pod, running);
            assert_eq!(order.waits_for(container), *want, "{name}");
        }
    }

    #[test]
    fn a_pod_without_sidecars_waits_on_nothing() {
        let pod = spec(
            "{initContainers: [{name: i, image: x}], containers: [{name: a, image: x}, {name: b, image: x}]}",
        );
        let order = TerminationOrder::new(&pod, &["i", "a", "b"]);
        for name in ["i", "a", "b"] {
            assert!(order.waits_for(name).is_empty(), "{name}");
            assert!(order.ready_to_stop(name, &BTreeSet::new()), "{name}");
        }
    }

    #[test]
    fn sidecars_stop_in_reverse_order_after_all_apps() {
        let pod = spec(SIDECARS);
        let order = TerminationOrder::new(&pod, ALL);
        let mut exited = BTreeSet::new();
        let mut stopped = Vec::new();
        // Each round: signal every container whose turn came, then let them exit.
        while exited.len() < ALL.len() {
            let turn: Vec<&str> = ALL
                .iter()
                .copied()
                .filter(|c| !exited.contains(c) && order.ready_to_stop(c, &exited))
                .collect();
            assert!(!turn.is_empty(), "stuck after {stopped:?}");
            stopped.push(turn.join("+"));
            exited.extend(turn);
        }
        assert_eq!(stopped, ["a1+a2", "s3", "s2", "s1"]);
    }

    #[test]
    fn a_not_running_container_counts_as_exited() {
        let pod = spec(SIDECARS);
        let order = TerminationOrder::new(&pod, &["s1", "s2", "s3"]);
        assert!(order.ready_to_stop("s3", &BTreeSet::new()));
        assert!(!order.ready_to_stop("s2", &BTreeSet::new()));
        assert!(order.ready_to_stop("s2", &BTreeSet::from(["s3"])));
    }

    #[test]
    fn grace_sources() {
        let pod = spec(
            "{terminationGracePeriodSeconds: 60, containers: [{name: a, image: x, \
             livenessProbe: {exec: {command: [true]}, terminationGracePeriodSeconds: 7}, \
             startupProbe: {exec: {command: [true]}}}]}",
        );
        let bare = spec("{containers: [{name: a, image: x}]}");
        use KillCause::*;
        let cases = [
            ("pod grace", &pod, Stop, None, None, 60),
            ("default 30", &bare, Stop, None, None, 30),
            (
                "liveness probe override",
                &pod,
                LivenessProbe,
                None,
                None,
                7,
            ),
            (
                "startup probe without override",
                &pod,
                StartupProbe,
                None,
                None,
                60,
            ),
            (
                "deletion grace wins over the probe",
                &pod,
                LivenessProbe,
                Some(3),
                None,
                3,
            ),
            (
                "deletion grace wins over the pod",
                &bare,
                Stop,
                Some(0),
                None,
                0,
            ),
            (
                "caller override wins",
                &pod,
                LivenessProbe,
                Some(3),
                Some(1),
                1,
            ),
        ];
        for (name, spec, cause, deletion, over, want) in cases {
            assert_eq!(
                grace_period(spec, "a", cause, deletion, over),
                want,
                "{name}"
            );
        }
    }

    #[test]
    fn pre_stop_hooks_are_found() {
        let pod = spec(
            "{initContainers: [{name: s, image: x, restartPolicy: Always, \
             lifecycle: {preStop: {exec: {command: [sleep, '5']}}}}], \
             containers: [{name: a, image: x}]}",
        );
        assert!(has_pre_stop(&pod, "s"));
        assert!(!has_pre_stop(&pod, "a"));
        assert!(!has_pre_stop(&pod, "ghost"));
    }

    #[test]
    fn stop_timeouts() {
        let cases = [
            ("no hook, no wait: the whole grace", 30, None, None, 30),
            ("preStop time is truncated", 30, Some(secs(4.9)), None, 26),
            ("wait time is truncated", 30, None, Some(secs(9.99)), 21),
            (
                "both deducted, each truncated",
                30,
                Some(secs(4.9)),
                Some(secs(4.9)),
                22,
            ),
            (
                "grace 5, slow app: the app gets 5 s",
                5,
                None,
                Some(Duration::ZERO),
                5,
            ),
            (
                "grace 5, slow app: sidecars waited 5 s, get 2 s",
                5,
                None,
                Some(secs(5.02)),
                2,
            ),
            (
                "never-ending preStop, grace 30: 2 s more, so ~32 s",
                30,
                Some(secs(30.01)),
                Some(secs(100.0)),
                2,
            ),
            (
                "grace 0: no hook, no wait, 2 s",
                0,
                Some(secs(9.0)),
                Some(secs(9.0)),
                2,
            ),
            ("grace 1 still gets 2 s", 1, None, None, 2),
        ];
        for (name, grace, pre_stop, wait, want) in cases {
            assert_eq!(stop_timeout(grace, pre_stop, wait), want, "{name}");
        }
    }

    #[test]
    fn never_ending_sidecar_pre_stops_take_grace_plus_two() {
        // Three sidecars whose preStop never ends, grace 30: the hooks all
        // start at once and are cut at 30 s; nothing is left to wait with.
        let pod = spec(SIDECARS);
        let order = TerminationOrder::new(&pod, &["s1", "s2", "s3"]);
        for sidecar in ["s1", "s2", "s3"] {
            let budget = GraceBudget::new(30);
            assert_eq!(budget.pre_stop_timeout(), Some(secs(30.0)));
            let budget = budget.after_pre_stop(secs(30.2));
            assert_eq!(budget.wait_timeout(), None, "{sidecar}: no wait");
            let kill_at = 30 + budget.stop_timeout();
            assert_eq!(kill_at, 32, "{sidecar}");
            assert!(!order.waits_for(sidecar).is_empty() || sidecar == "s3");
        }
    }

    #[test]
    fn the_wait_is_bounded_by_what_the_pre_stop_left() {
        let budget = GraceBudget::new(10).after_pre_stop(secs(3.7));
        assert_eq!(budget.remaining(), 7);
        assert_eq!(budget.wait_timeout(), Some(secs(7.0)));
        assert_eq!(budget.after_wait(secs(7.0)).stop_timeout(), 2);
    }
}
