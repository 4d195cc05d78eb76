"""The closing lines of a scenario run: did the expected anomaly appear, when, during which fault, and what
the control changes. Reads the checker's result and, for times, the history."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.history import naming, op_fields, read_events


def first_times(history: Path, indexes: set[int]) -> dict[int, float]:
    """Seconds since the test began of the given op indexes (one pass, stops when all are found)."""
    found: dict[int, float] = {}
    if not indexes:
        return found
    with naming(history):
        for line, event in read_events(history):
            index, time, *_ = op_fields(line, event)
            if index in indexes:
                found[index] = time / 1e9
                if len(found) == len(indexes):
                    break
    return found


def summarize(scenario: dict[str, Any], result: dict[str, Any], history: Path) -> list[str]:
    control = scenario["variant"] == "control"
    expected = scenario["expect"]
    anomalies = result.get("anomalies", {})
    found = {name: evidence for name, evidence in anomalies.items() if evidence}
    firsts = {name: min(e["ops"]) for name, evidence in found.items() for e in evidence[:1] if e.get("ops")}
    times = first_times(history, set(firsts.values()))
    lines = [f"scenario {scenario['name']} ({scenario['variant']}): {scenario['summary']}"]
    for name, evidence in sorted(found.items()):
        first = evidence[0]
        when = f" first at t={times[firsts[name]]:.1f} s" if name in firsts and firsts[name] in times else ""
        faults = ", ".join(sorted({f.get("nemesis", "?") for e in evidence for f in e.get("nemesis", [])}))
        during = f", during {faults}" if faults else ", with no fault active"
        lines.append(f"  {name}: {len(evidence)}{when}{during} — {first.get('explanation', '')}")
    if not expected:  # a regression scenario: both variants must stay clean
        verdict = "clean, as expected" if result.get("valid") is True else "NOT clean: a regression"
        lines.append(f"  regression check: {verdict}")
    elif control:
        verdict = "clean, as expected" if result.get("valid") is True else "NOT clean: the control did not prevent it"
        lines.append(f"  control: {verdict} ({scenario['control_explains']})")
    else:
        hit = [name for name in expected if name in found]
        if hit:
            lines.append(f"  reproduced: {', '.join(hit)}. {scenario['control_explains']}.")
        else:
            lines.append(f"  not reproduced this time: expected {', '.join(expected)}; run it again or raise the "
                         "time limit (detection is probabilistic)")
    return lines
