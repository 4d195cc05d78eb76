"""A disaster-recovery drill: steady load, a whole DC lost (cut off, or destroyed), the clients fail over,
the DC returns, the clients fail back; then the figures operators plan with (RTO, RPO, skips, re-reads).

A drill is a run (harness/runner.py) with an exact timeline and, on active-active clusters, a FailoverPlan for
the mirror workload; the figures come from the history alone (checkers/drill.py) and land in drill.json,
drill.md and drill.png next to the run's usual results.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from core.errors import HarnessError
from core.history import naming, read_events
from core.topology import Topology
from harness.runner import RunOptions
from workloads.mirror import FailoverPlan


@dataclass(frozen=True)
class DrillPlan:
    fail: str  # the DC that is lost
    disaster: bool = False  # destroy its brokers (disks wiped), not only cut it off
    steady_s: float = 20.0  # load before the failure
    outage_s: float = 40.0  # how long the DC stays lost
    after_s: float = 25.0  # load after it returned
    failback_after_s: float = 10.0  # clients move back once home answered their health check this long

    def fault(self) -> str:
        return f"{'disaster' if self.disaster else 'outage'}-{self.fail}"


def drill_options(plan: DrillPlan, base: RunOptions) -> RunOptions:
    """The run that performs the drill: `base` gives topology, workload, image and where results go."""
    topology = base.topology
    if plan.fail not in topology.dc_names():
        raise HarnessError(f"--fail {plan.fail}: no such DC in topology {topology.name!r}",
                           hint="DCs are " + ", ".join(topology.dc_names()))
    if min(plan.steady_s, plan.outage_s, plan.after_s) <= 0:
        raise HarnessError("--steady, --outage and --after must be positive seconds")
    failover = None
    if _active_active(topology):
        target = next(dc for dc in topology.dc_names() if dc != plan.fail)
        failover = FailoverPlan(plan.fail, target, watch_from=plan.steady_s, failback_after=plan.failback_after_s)
    return replace(base, nemesis="none", timeline=((plan.steady_s, plan.fault(), plan.outage_s),),
                   time_limit=plan.steady_s + plan.outage_s + plan.after_s, workload_options=failover,
                   workload_name="mirror" if failover is not None else base.workload_name,
                   test_name=base.test_name or f"drill-{topology.name}-{plan.fault()}")


def _active_active(topology: Topology) -> bool:
    return topology.model == "active-active"


def write_figures(results: Path) -> dict[str, Any]:
    """drill.json, drill.md and drill.png from the run's history; returns the figures."""
    from checkers.drill import drill_figures

    history = results / "history.jsonl"
    with naming(history):
        figures = drill_figures(event for _, event in read_events(history))
    (results / "drill.json").write_text(json.dumps(figures, indent=2) + "\n")
    (results / "drill.md").write_text("\n".join(summary_lines(figures)) + "\n")
    try:
        _plot(results, figures)
    except Exception as error:  # noqa: BLE001 - a plot problem must not hide the figures
        figures["plot_error"] = str(error)
    return figures


def summary_lines(f: dict[str, Any]) -> list[str]:
    if "error" in f:
        return [f"drill: {f['error']}"]

    def s(value: float | None) -> str:
        return "never" if value is None else f"{value:g} s"

    rpo, app = f["rpo"], f["app"]
    lines = [f"drill: {f['dc']} lost at t={f['failure_s']:g} s, back at t={s(f['return_s'])}",
             f"  RTO writes: {s(f['rto_write_s'])} (first acknowledged write of {f['dc']}'s clients after the failure)",
             f"  RTO reads:  {s(f['rto_read_s'])} (first read of a record they wrote after the failure)",
             "  RPO: " + (f"{rpo['unmirrored_at_failure']} of {rpo['acknowledged_before_failure']} records "
                           f"acknowledged in {f['dc']} were not yet mirrored elsewhere at the failure"
                           if rpo["unmirrored_at_failure"] is not None else
                           f"{rpo['acknowledged_before_failure']} records acknowledged before the failure")
             + (f" ({rpo['unmirrored_seconds']:g} s of writes)" if rpo["unmirrored_seconds"] is not None else "")
             + f"; {rpo['lost']} never read anywhere (lost)"]
    if app["reads"]:
        lines.append("  consumer group: skipped " + ", ".join(f"{n} at {p}" for p, n in app["skipped"].items())
                     + "; re-read " + ", ".join(f"{n} at {p}" for p, n in app["reread"].items()))
    return lines


def _plot(results: Path, figures: dict[str, Any]) -> None:
    """Writes per second on each side and MirrorMaker 2's lag, with the drill's moments marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if "error" in figures:
        return
    home, series = figures["dc"], figures["per_second"]
    lagged = [(t, lag) for t, lag in zip(series["second"], series["mirror_lag_max_s"], strict=True) if lag is not None]
    fig, axes = plt.subplots(2 if lagged else 1, 1, figsize=(12, 6 if lagged else 3.5), dpi=90, sharex=True,
                             squeeze=False)
    writes = axes[0][0]
    writes.plot(series["second"], series["home_writes"], label=f"acknowledged writes/s, {home}'s clients")
    writes.plot(series["second"], series["other_writes"], label="acknowledged writes/s, other clients")
    if lagged:
        mirror = axes[1][0]
        mirror.plot([t for t, _ in lagged], [lag for _, lag in lagged], color="#7048e8", marker=".",
                    label=f"longest MirrorMaker 2 lag of {home}'s writes acknowledged that second (s)")
        mirror.set_ylabel("seconds")
    for (ax,) in axes:
        for key, label, colour in (("failure_s", "failure", "#e03131"), ("failover_s", "failover", "#f08c00"),
                                   ("return_s", "DC back", "#2f9e44"), ("failback_s", "failback", "#1971c2")):
            if figures.get(key) is not None:
                ax.axvline(figures[key], color=colour, linestyle="--", label=label)
        ax.legend(loc="upper right", fontsize=8)
    axes[-1][0].set_xlabel("seconds since the test began")
    writes.set_title(f"DR drill: {home} lost; RTO writes {figures['rto_write_s']} s; "
                     f"{figures['rpo']['lost']} acknowledged records lost")
    fig.tight_layout()
    fig.savefig(results / "drill.png")
    plt.close(fig)
