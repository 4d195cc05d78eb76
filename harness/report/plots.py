"""PNG plots of one run: latency and throughput with fault windows shaded, and the broker state over time.

matplotlib with the Agg backend only: no display, no network, the same pixels on a laptop and in CI.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402 - the backend must be chosen first
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import FuncFormatter, NullFormatter  # noqa: E402

from harness.report.data import OUTCOMES, FaultWindow, RunData  # noqa: E402

LATENCY = "latency.png"
THROUGHPUT = "throughput.png"
CLUSTER_STATE = "cluster-state.png"
PLOT_FILES = (LATENCY, THROUGHPUT, CLUSTER_STATE)

OUTCOME_COLOURS = {"ok": "#2f9e44", "fail": "#e03131", "info": "#f08c00"}
FAULT_COLOURS = ("#748ffc", "#da77f2", "#66d9e8", "#ffa94d", "#a9e34b", "#f783ac", "#ced4da")
MAIN_OPS = ("send", "poll", "txn")
RARE_OPS = 50  # fewer completions than this share the "other ops" row
MARKERS = ("o", "s", "^", "D", "v", "P", "X")
WIDTH = 12.0
DPI = 90


def write_plots(data: RunData, out_dir: Path) -> list[Path]:
    """Write every plot the data allows; returns the files written (a plot with nothing to show is skipped)."""
    written = []
    for name, draw in ((LATENCY, _latency), (THROUGHPUT, _throughput), (CLUSTER_STATE, _cluster_state)):
        target = out_dir / name
        with warnings.catch_warnings():  # one point per series makes matplotlib warn about flat axes
            warnings.simplefilter("ignore", UserWarning)
            figure = draw(data)
        if figure is None:
            target.unlink(missing_ok=True)  # a stale plot of an earlier report would lie
            continue
        try:
            figure.savefig(target, dpi=DPI)
        finally:
            plt.close(figure)
        written.append(target)
    return written


def _latency(data: RunData) -> Figure | None:
    fs = [f for f in data.client_fs if any((f, o) in data.latencies for o in OUTCOMES)]
    if not fs:
        return None
    # The workload's main ops get a row each; rare ones (assign, drain, ...) share one, told apart by marker.
    main = [f for f in fs if f in MAIN_OPS or _completions(data, f) >= RARE_OPS]
    rows: list[list[str]] = [[f] for f in main] + ([[f for f in fs if f not in main]] if len(main) < len(fs) else [])
    figure, axes = plt.subplots(len(rows), 1, figsize=(WIDTH, 1.0 + 2.2 * len(rows)), sharex=True, squeeze=False)
    for ax, row in zip(axes[:, 0], rows, strict=True):
        for f, marker in zip(row, MARKERS * len(row), strict=False):
            for outcome in OUTCOMES:
                series = data.latencies.get((f, outcome))
                if series and series.points:
                    xs, ys = zip(*series.points, strict=True)
                    label = (f"{f} " if len(row) > 1 else "") + f"{outcome} ({series.seen})" + (
                        f", 1 in {series.stride} shown" if series.stride > 1 else "")
                    ax.scatter(xs, [max(y, 0.001) for y in ys], s=4 if len(xs) > 500 else 16, alpha=0.6,
                               marker=marker, color=OUTCOME_COLOURS[outcome], label=label, linewidths=0,
                               rasterized=True)
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_ylabel(f"{row[0]} latency (ms)" if len(row) == 1 else "other ops (ms)")
        _shade_faults(ax, data)
        _legend(ax, data, markerscale=2)
    _finish(figure, axes[-1, 0], data, "Latency of each op (completion time; invoke → ok / fail / info)")
    return figure


def _completions(data: RunData, f: str) -> int:
    return sum(data.op_counts.get((f, o), 0) for o in OUTCOMES)


def _throughput(data: RunData) -> Figure | None:
    if not any(data.throughput.values()):
        return None
    figure, ax = plt.subplots(figsize=(WIDTH, 3.2))
    last = max(max(c, default=0) for c in data.throughput.values())
    seconds = list(range(int(data.start), last + 1))
    for outcome in OUTCOMES:
        counts = data.throughput[outcome]
        if counts:
            ax.step(seconds, [counts.get(s, 0) for s in seconds], where="post", color=OUTCOME_COLOURS[outcome],
                    label=f"{outcome} ({sum(counts.values())})", linewidth=1.2)
    ax.set_ylabel("completions / s")
    _shade_faults(ax, data)
    _legend(ax, data)
    _finish(figure, ax, data, "Throughput: client ops completed per second, by outcome")
    return figure


def _cluster_state(data: RunData) -> Figure | None:
    samples = [s for s in data.cluster_state if isinstance(s.get("time"), int | float)]
    if not samples:
        return None
    times = [s["time"] / 1e9 for s in samples]
    keys = sorted({_partition_key(p) for s in samples for p in s.get("partitions") or []})
    one_topic = len({topic for topic, _ in keys}) <= 1
    figure, axes = plt.subplots(4, 1, figsize=(WIDTH, 9.0), sharex=True)
    leader_ax, isr_ax, under_ax, brokers_ax = axes
    for key in keys:
        label = f"p{key[1]}" if one_topic else f"{key[0]}-{key[1]}"
        rows = [_partition(s, key) for s in samples]
        leaders = [_leader(p) for p in rows]
        isr = [len(p.get("isr") or []) if p else float("nan") for p in rows]
        leader_ax.step(times, leaders, where="post", label=label, linewidth=1.4)
        isr_ax.step(times, isr, where="post", label=label, linewidth=1.4)
    under = [sum(1 for p in s.get("partitions") or [] if _under_replicated(p)) for s in samples]
    offline = [sum(1 for p in s.get("partitions") or [] if _leader(p) < 0) for s in samples]
    under_ax.step(times, under, where="post", color="#e8590c", label="under-replicated")
    under_ax.step(times, offline, where="post", color="#c92a2a", label="no leader")
    brokers_ax.step(times, [len(s.get("brokers") or []) if "error" not in s else float("nan") for s in samples],
                    where="post", color="#1971c2", label="registered brokers")
    leader_ax.set_ylabel("leader (-1: none)")
    isr_ax.set_ylabel("ISR size")
    under_ax.set_ylabel("partitions")
    brokers_ax.set_ylabel("brokers")
    errors = [t for t, s in zip(times, samples, strict=True) if "error" in s]
    for ax in axes:
        ax.yaxis.get_major_locator().set_params(integer=True)
        for t in errors:
            ax.axvline(t, color="#c92a2a", alpha=0.25, linewidth=1)
        _shade_faults(ax, data)
        _legend(ax, data if ax is leader_ax else None, ncol=8)
    note = f" (admin unreachable at {len(errors)} samples: red lines)" if errors else ""
    _finish(figure, brokers_ax, data, "Cluster state as Kafka reported it, every second" + note)
    return figure


def _shade_faults(ax: Axes, data: RunData) -> None:
    colours = _fault_colours(data.faults)
    for window in data.faults:
        end = window.end if window.end is not None else data.duration
        ax.axvspan(window.start, end, color=colours[window.nemesis], alpha=0.18, linewidth=0)


def _legend(ax: Axes, data: RunData | None, **options: Any) -> None:
    """The ax's own series, then one patch per nemesis (when `data` is given)."""
    handles, labels = ax.get_legend_handles_labels()
    if data is not None:
        for name, colour in _fault_colours(data.faults).items():
            handles.append(Patch(color=colour, alpha=0.35))
            labels.append(f"fault: {name}")
    if handles:
        ax.legend(handles, labels, loc="upper left", fontsize=8, **options)


def _fault_colours(faults: Iterable[FaultWindow]) -> dict[str, str]:
    names = list(dict.fromkeys(w.nemesis for w in faults))
    return {name: FAULT_COLOURS[i % len(FAULT_COLOURS)] for i, name in enumerate(names)}


def _finish(figure: Figure, bottom: Axes, data: RunData, title: str) -> None:
    bottom.set_xlabel("seconds since the test began")
    margin = max((data.duration - data.start) * 0.01, 0.5)
    bottom.set_xlim(data.start - margin, data.duration + margin)
    figure.suptitle(title, fontsize=11, x=0.01, ha="left")
    figure.tight_layout()


def _partition_key(p: dict[str, Any]) -> tuple[str, int]:
    return str(p.get("topic", "")), int(p.get("partition", -1))


def _partition(sample: dict[str, Any], key: tuple[str, int]) -> dict[str, Any] | None:
    return next((p for p in sample.get("partitions") or [] if _partition_key(p) == key), None)


def _leader(p: dict[str, Any] | None) -> float:
    if p is None:
        return float("nan")
    leader = p.get("leader")
    return float(leader) if isinstance(leader, int) and leader >= 0 else -1.0


def _under_replicated(p: dict[str, Any]) -> bool:
    return len(p.get("isr") or []) < len(p.get("replicas") or [])
