"""Split-brain checks over what each node believed (cluster-state.jsonl), not what clients saw.

Pure: a stream of state samples (infra/sampler.py with per-node `views`) and the history's nemesis ops in, a
CheckResult out. Each sample is one moment; a node's *claim* is what its own view says at that moment:

- it is the active controller — `ActiveControllerCount` ≥ 1, else its Raft state is `leader` (KRaft), else in
  ZooKeeper mode its metadata names itself as controller;
- it leads a test partition at some leader epoch — its own metadata names itself as that partition's leader.

Apart from the claims, each controller's quorum-state file (the sample's `controllers`: the leader and KRaft epoch
it last recorded, a file Kafka replaces atomically) is a vote record: Raft elects at most one leader per epoch, so
two leaders named for one epoch, by any controllers at any times, is a broken quorum, grace or not. Voter-set
changes (KIP-853's add-controller / remove-controller) must keep that; they are where it would break. Where the
nodes report `raft_voters` (raft-metrics `number-of-voters`, a dynamic quorum on Kafka 4.0+), the voter counts of
the nodes that answered must agree again within the grace window after a change; a node cut off from the
largest side of an active partition is left out (it cannot learn of the change until the cut heals).

A node that did not answer (unreachable, JMX stale) claims nothing at that moment: a claim holds over a run of
consecutive samples that all show it, so gaps never join two runs. Two runs of different nodes overlap over
[latest start, earliest end]; an overlap longer than the grace window (failover is never instantaneous: the
new side acts before the old side's next sample) is a finding.

The findings, their rules and whether each fails the verdict: core/anomalies.py (family `split-brain`) and
docs/history-format.md, "Split-brain findings".
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from checkers.result import Anomaly, CheckResult, Verdict
from core.anomalies import fails, family
from core.faults import FaultTimeline
from core.history import NEMESIS, Event, naming, op_fields, read_events

DEFAULT_GRACE_S = 5.0
NS = 1_000_000_000
ANOMALIES = family("split-brain")


@dataclass(frozen=True)
class Run:
    """One node claiming one thing over consecutive samples (times in ns since the test began)."""

    node: str
    start: int
    end: int
    epoch: int = -1


@dataclass
class _Claims:
    controller: dict[str, list[Run]]
    leader: dict[tuple[int, str, int], list[Run]]  # (partition, node, epoch) -> runs


def read_samples(path: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """The state samples of cluster-state.jsonl (the history's reader and error policy); lines without a time,
    such as a sampler's note, are no sample."""
    for _, sample in read_events(path):
        if isinstance(sample.get("time"), int | float):
            yield sample


def nemesis_timeline(events: Iterable[tuple[int, Event]]) -> FaultTimeline:
    faults = FaultTimeline()
    for line, event in events:
        index, time, process, type_, f = op_fields(line, event)
        if process == NEMESIS:
            faults.feed(index, int(time), type_, f, event.get("value"), event.get("error"))
    return faults


def check_cluster_file(state: str | os.PathLike[str], history: str | os.PathLike[str] | None = None,
                       grace_s: float = DEFAULT_GRACE_S) -> CheckResult:
    faults = FaultTimeline()
    if history is not None:
        with naming(history):
            faults = nemesis_timeline(read_events(history))
    with naming(state):
        return check_cluster(read_samples(state), faults, grace_s)


def check_cluster(samples: Iterable[Mapping[str, Any]], faults: FaultTimeline | None = None,
                  grace_s: float = DEFAULT_GRACE_S) -> CheckResult:
    faults = faults if faults is not None else FaultTimeline()
    tracker = _Tracker()
    stats = _Availability()
    epochs = _QuorumEpochs()
    voter_counts = _VoterCounts()
    regressions: list[Anomaly] = []
    for sample in sorted(samples, key=lambda s: s["time"]):
        t = int(sample["time"])
        stats.add(t, sample)
        if isinstance(sample.get("controllers"), dict):
            epochs.add(t, sample["controllers"])
        views = sample.get("views")
        if isinstance(views, dict):
            regressions.extend(tracker.add(t, str(sample.get("mode", "kraft")), views, faults))
            voter_counts.add(t, views, faults)
    tracker.close()
    grace = int(grace_s * NS)
    overlaps = list(_controller_overlaps(tracker.claims.controller, grace, faults, tracker.nodes))
    found: dict[str, tuple[Anomaly, ...]] = {
        "split-brain-controller": tuple(a for a in overlaps if a.name == "split-brain-controller"),
        "isolated-controller": tuple(a for a in overlaps if a.name == "isolated-controller"),
        "leader-epoch-regression": tuple(regressions),
        "kraft-epoch-two-leaders": tuple(epochs.findings(faults)),
        "voter-count-divergence": tuple(voter_counts.findings(grace, faults)),
    }
    same, stale = _leader_overlaps(tracker.claims.leader, grace, faults)
    found["split-brain-leader"], found["stale-leader"] = tuple(same), tuple(stale)
    result_stats = {**stats.to_json(), "grace_s": grace_s, "views": tracker.samples_with_views,
                    "controller_views": sorted(tracker.controller_sources),
                    "kraft_epochs": len(epochs.leaders), "quorum_samples": epochs.samples,
                    "voter_count_samples": voter_counts.samples,
                    "anomaly_counts": {name: len(a) for name, a in sorted(found.items()) if a}}
    result_stats["checked"] = list(ANOMALIES) if tracker.samples_with_views else []
    failing = any(found[name] for name in ANOMALIES if fails(name))
    valid: Verdict = False if failing else True if tracker.samples_with_views else "unknown"
    return CheckResult(valid, {name: a for name, a in found.items() if a}, result_stats)


def merge(history: CheckResult, cluster: CheckResult) -> CheckResult:
    """The run's verdict: the history's, failed also by any failing cluster finding."""
    valid: Verdict = False if cluster.valid is False else history.valid
    checked = [*history.stats.get("checked", ()), *cluster.stats.get("checked", ())]
    return CheckResult(valid, {**history.anomalies, **cluster.anomalies},
                       {**history.stats, "checked": checked, "cluster": cluster.stats})


# ---- claims --------------------------------------------------------------------------------------------------

def controller_claim(mode: str, view: Mapping[str, Any]) -> tuple[bool | None, str]:
    """(does this node claim to be the active controller, from which source); None when it cannot be known."""
    if view.get("jmx") == "ok":
        if "active_controller_count" in view:
            return int(view["active_controller_count"]) >= 1, "jmx"
        if "raft_state" in view:
            return view["raft_state"] == "leader", "jmx"
    if mode == "zookeeper" and view.get("reachable") and "controller" in view:
        return view["controller"] == view.get("id"), "metadata"
    return None, ""


def leader_claims(view: Mapping[str, Any]) -> list[tuple[int, int]] | None:
    """(partition, leader epoch) this broker believes it leads; None when it did not answer."""
    if not view.get("reachable"):
        return None
    me = view.get("id")
    return [(int(p["partition"]), int(p.get("epoch", -1))) for p in view.get("partitions", ())
            if p.get("leader") == me]


class _Tracker:
    def __init__(self) -> None:
        self.claims = _Claims({}, {})
        self._open_controller: dict[str, Run] = {}
        self._open_leader: dict[tuple[int, str, int], Run] = {}
        self._epochs: dict[tuple[str, int], tuple[int, int]] = {}  # (node, partition) -> (highest epoch, time)
        self._last_epoch: dict[tuple[str, int], int] = {}  # a regression is reported where it drops, once
        self.samples_with_views = 0
        self.controller_sources: set[str] = set()
        self.nodes: set[str] = set()

    def add(self, t: int, mode: str, views: Mapping[str, Any], faults: FaultTimeline) -> list[Anomaly]:
        self.samples_with_views += 1
        controllers: set[str] = set()
        leaders: set[tuple[int, str, int]] = set()
        regressions: list[Anomaly] = []
        for node, view in views.items():
            if not isinstance(view, dict):
                continue
            self.nodes.add(node)
            claim, source = controller_claim(mode, view)
            if source:
                self.controller_sources.add(source)
            if claim:
                controllers.add(node)
            for partition, epoch in leader_claims(view) or ():
                leaders.add((partition, node, epoch))
            regressions.extend(self._epoch_regressions(t, node, view, faults))
        _extend(self._open_controller, self.claims.controller, {n: n for n in controllers}, t)
        _extend(self._open_leader, self.claims.leader, {key: key[1] for key in leaders}, t, epochs=True)
        return regressions

    def _epoch_regressions(self, t: int, node: str, view: Mapping[str, Any], faults: FaultTimeline) -> list[Anomaly]:
        found = []
        for p in view.get("partitions", ()) if view.get("reachable") else ():
            partition, epoch = int(p["partition"]), int(p.get("epoch", -1))
            if epoch < 0:
                continue
            highest = self._epochs.get((node, partition))
            last = self._last_epoch.get((node, partition), epoch)
            self._last_epoch[(node, partition)] = epoch
            if highest is not None and epoch < highest[0] and epoch < last:
                found.append(Anomaly(
                    "leader-epoch-regression", (),
                    f"{node}'s view of partition {partition} went from leader epoch {highest[0]} "
                    f"(t={highest[1] / NS:.1f} s) back to {epoch} (t={t / NS:.1f} s)",
                    {"node": node, "partition": partition, "from_epoch": highest[0], "to_epoch": epoch,
                     "window_s": [round(highest[1] / NS, 3), round(t / NS, 3)]},
                    faults.active(highest[1], t)))
            if highest is None or epoch >= highest[0]:
                self._epochs[(node, partition)] = (epoch, t)
        return found

    def close(self) -> None:
        for key, run in self._open_controller.items():
            self.claims.controller.setdefault(key, []).append(run)
        for lkey, lrun in self._open_leader.items():
            self.claims.leader.setdefault(lkey, []).append(lrun)
        self._open_controller.clear()
        self._open_leader.clear()


def _extend(open_runs: dict[Any, Run], closed: dict[Any, list[Run]], claiming: Mapping[Any, str], t: int,
            epochs: bool = False) -> None:
    """Runs continue where the claim is seen again, end where it is not (not claimed, or not known)."""
    for key in list(open_runs):
        if key not in claiming:
            closed.setdefault(key, []).append(open_runs.pop(key))
    for key, node in claiming.items():
        run = open_runs.get(key)
        epoch = key[2] if epochs else -1
        open_runs[key] = Run(node, run.start if run else t, t, epoch)


# ---- overlaps ------------------------------------------------------------------------------------------------

def _overlap(a: Run, b: Run) -> tuple[int, int]:
    return max(a.start, b.start), min(a.end, b.end)


def _window(start: int, end: int) -> str:
    return f"from t={start / NS:.1f} s to t={end / NS:.1f} s ({(end - start) / NS:.1f} s)"


def cut_off(node: str, others: set[str], faults: FaultTimeline, start: int, end: int) -> bool:
    """Was `node` alone on its side of a partition, away from every other observed node, all through [start, end]?"""
    for fault in faults.throughout(start, end):
        sides = fault.value.get("components") if isinstance(fault.value, dict) else None
        if isinstance(sides, list) and [node] in sides:
            reached = {n for side in sides if side != [node] for n in side}
            if others - {node} <= reached:
                return True
    return False


def _controller_overlaps(runs: Mapping[str, list[Run]], grace: int, faults: FaultTimeline,
                         nodes: set[str]) -> Iterator[Anomaly]:
    for (a, a_runs), (b, b_runs) in combinations(sorted(runs.items()), 2):
        for ra in a_runs:
            for rb in b_runs:
                start, end = _overlap(ra, rb)
                if end - start <= grace:
                    continue
                facts = {"nodes": [a, b], "window_s": [round(start / NS, 3), round(end / NS, 3)],
                         "duration_s": round((end - start) / NS, 3)}
                lone = [n for n in (a, b) if cut_off(n, nodes, faults, start, end)]
                if lone:
                    yield Anomaly(
                        "isolated-controller", (),
                        f"{a} and {b} both reported being the active controller {_window(start, end)}, but {lone[0]} "
                        "was cut off from every other node all along: a stale belief that commands no one",
                        {**facts, "isolated": lone[0]}, faults.active(start, end))
                    continue
                yield Anomaly(
                    "split-brain-controller", (),
                    f"{a} and {b} both reported being the active controller {_window(start, end)}, longer than "
                    f"the {grace / NS:g} s grace window", facts, faults.active(start, end))


def _leader_overlaps(runs: Mapping[tuple[int, str, int], list[Run]], grace: int,
                     faults: FaultTimeline) -> tuple[list[Anomaly], list[Anomaly]]:
    by_partition: dict[int, list[Run]] = {}
    for (partition, _node, _epoch), node_runs in runs.items():
        by_partition.setdefault(partition, []).extend(node_runs)
    same: list[Anomaly] = []
    stale: list[Anomaly] = []
    for partition, part_runs in sorted(by_partition.items()):
        for ra, rb in combinations(sorted(part_runs, key=lambda r: (r.start, r.node)), 2):
            if ra.node == rb.node:
                continue
            start, end = _overlap(ra, rb)
            if end - start <= grace:
                continue
            facts = {"partition": partition, "nodes": [ra.node, rb.node], "epochs": [ra.epoch, rb.epoch],
                     "window_s": [round(start / NS, 3), round(end / NS, 3)], "duration_s": round((end - start) / NS, 3)}
            if ra.epoch == rb.epoch:
                same.append(Anomaly(
                    "split-brain-leader", (),
                    f"{ra.node} and {rb.node} both reported leading partition {partition} at leader epoch "
                    f"{ra.epoch} {_window(start, end)}: no epoch fences one from the other", facts,
                    faults.active(start, end)))
            else:
                old, new = (ra, rb) if ra.epoch < rb.epoch else (rb, ra)
                stale.append(Anomaly(
                    "stale-leader", (),
                    f"{old.node} still reported leading partition {partition} at epoch {old.epoch} while {new.node} "
                    f"led it at epoch {new.epoch}, {_window(start, end)} (a zombie leader)", facts,
                    faults.active(start, end)))
    return same, stale


# ---- one leader per KRaft epoch --------------------------------------------------------------------------

class _QuorumEpochs:
    """For each KRaft epoch, every leader any controller's quorum-state file named for it, with where and when
    it was first seen: memory grows with the epochs, not the samples."""

    def __init__(self) -> None:
        self.leaders: dict[int, dict[int, tuple[str, int]]] = {}  # epoch -> leader id -> (node, first time)
        self.samples = 0

    def add(self, t: int, controllers: Mapping[str, Any]) -> None:
        self.samples += 1
        for node, view in sorted(controllers.items()):
            if not isinstance(view, dict):
                continue
            leader, epoch = int(view.get("leader", -1)), int(view.get("epoch", -1))
            if leader >= 0 and epoch >= 0:
                self.leaders.setdefault(epoch, {}).setdefault(leader, (node, t))

    def findings(self, faults: FaultTimeline) -> Iterator[Anomaly]:
        for epoch, named in sorted(self.leaders.items()):
            if len(named) < 2:
                continue
            sightings = sorted(named.items(), key=lambda item: item[1][1])
            said = "; ".join(f"{node} named {leader} (first at t={t / NS:.1f} s)" for leader, (node, t) in sightings)
            first, last = sightings[0][1][1], sightings[-1][1][1]
            yield Anomaly(
                "kraft-epoch-two-leaders", (),
                f"KRaft epoch {epoch} had {len(named)} leaders: {said}; Raft elects at most one per epoch",
                {"epoch": epoch, "leaders": sorted(named),
                 "seen": [{"leader": leader, "node": node, "t_s": round(t / NS, 3)} for leader, (node, t) in sightings],
                 "window_s": [round(first / NS, 3), round(last / NS, 3)]},
                faults.active(first, last))


# ---- voter counts agree -----------------------------------------------------------------------------------

def _partitioned_off(node: str, t: int, faults: FaultTimeline) -> bool:
    """Is `node` outside the largest side of a partition active at `t`?"""
    for fault in faults.throughout(t, t):
        sides = fault.value.get("components") if isinstance(fault.value, dict) else None
        if isinstance(sides, list) and sides:
            largest = max(sides, key=len)
            if any(node in side for side in sides) and node not in largest:
                return True
    return False


@dataclass
class _Divergence:
    start: int
    end: int
    counts: dict[str, int]  # at the latest sample of the run


class _VoterCounts:
    """Runs of consecutive samples in which the answering nodes disagree on how many voters the quorum has."""

    def __init__(self) -> None:
        self.runs: list[_Divergence] = []
        self._open: _Divergence | None = None
        self.samples = 0

    def add(self, t: int, views: Mapping[str, Any], faults: FaultTimeline) -> None:
        counts = {node: int(view["raft_voters"]) for node, view in sorted(views.items())
                  if isinstance(view, dict) and view.get("jmx") == "ok" and "raft_voters" in view
                  and not _partitioned_off(node, t, faults)}
        if not counts:
            return
        self.samples += 1
        if len(set(counts.values())) > 1:
            if self._open is None:
                self._open = _Divergence(t, t, counts)
                self.runs.append(self._open)
            else:
                self._open.end, self._open.counts = t, counts
        else:
            self._open = None

    def findings(self, grace: int, faults: FaultTimeline) -> Iterator[Anomaly]:
        for run in self.runs:
            if run.end - run.start <= grace:
                continue
            by_count: dict[int, list[str]] = {}
            for node, count in run.counts.items():
                by_count.setdefault(count, []).append(node)
            said = "; ".join(f"{', '.join(nodes)}: {count}" for count, nodes in sorted(by_count.items()))
            yield Anomaly(
                "voter-count-divergence", (),
                f"the nodes disagreed on the number of KRaft voters {_window(run.start, run.end)}, longer than the "
                f"{grace / NS:g} s grace window (at its end: {said})",
                {"counts": run.counts, "window_s": [round(run.start / NS, 3), round(run.end / NS, 3)],
                 "duration_s": round((run.end - run.start) / NS, 3)},
                faults.active(run.start, run.end))


# ---- availability ------------------------------------------------------------------------------------------

class _Availability:
    """Seconds each partition had no leader or a short ISR (the admin client's view), and each node's
    unreachable seconds; a sample's state holds until the next sample."""

    def __init__(self) -> None:
        self.samples = 0
        self._last: tuple[int, Mapping[str, Any]] | None = None
        self.leaderless: dict[int, int] = {}
        self.under_replicated: dict[int, int] = {}
        self.unreachable: dict[str, int] = {}
        self.unknown = 0
        self.first = self.final = 0

    def add(self, t: int, sample: Mapping[str, Any]) -> None:
        if self._last is None:
            self.first = t
        else:
            self._account(self._last[1], t - self._last[0])
        self.samples += 1
        self._last, self.final = (t, sample), t

    def _account(self, sample: Mapping[str, Any], dt: int) -> None:
        partitions = sample.get("partitions")
        if "error" in sample or not isinstance(partitions, list):
            self.unknown += dt
        else:
            for p in partitions:
                index = int(p["partition"])
                self.leaderless.setdefault(index, 0)
                self.under_replicated.setdefault(index, 0)
                if int(p.get("leader", -1)) < 0:
                    self.leaderless[index] += dt
                if len(p.get("isr", ())) < len(p.get("replicas", ())):
                    self.under_replicated[index] += dt
        for node, view in (sample.get("views") or {}).items():
            if isinstance(view, dict) and (view.get("reachable") is False or view.get("jmx") == "stale"):
                self.unreachable[node] = self.unreachable.get(node, 0) + dt

    def to_json(self) -> dict[str, Any]:
        return {"samples": self.samples, "observed_s": round((self.final - self.first) / NS, 3),
                "unknown_s": round(self.unknown / NS, 3),
                "partitions": {str(p): {"leaderless_s": round(self.leaderless[p] / NS, 3),
                                        "under_replicated_s": round(self.under_replicated[p] / NS, 3)}
                               for p in sorted(self.leaderless)},
                "unreachable_s": {n: round(s / NS, 3) for n, s in sorted(self.unreachable.items())}}
