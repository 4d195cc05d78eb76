"""The human explanation of a result: a summary line, then one block per anomaly name."""

from __future__ import annotations

from checkers.result import INFORMATIONAL, Anomaly, CheckResult

SHOWN, SHOWN_INFORMATIONAL = 10, 3


def summary(result: CheckResult) -> str:
    counts = {name: len(found) for name, found in sorted(result.anomalies.items()) if found}
    failing = ", ".join(f"{n} ×{c}" for n, c in counts.items() if n not in INFORMATIONAL)
    allowed = ", ".join(f"{n} ×{c}" for n, c in counts.items() if n in INFORMATIONAL)
    checked = result.stats.get("records_read", 0)
    if result.valid is True:
        head = f"VALID: no anomalies in {result.stats.get('events', 0)} events ({checked} records read)"
    elif result.valid is False:
        head = f"INVALID: {failing}"
    else:
        head = "UNKNOWN: nothing in the history could be checked (no acknowledged sends and no reads)"
    return head + (f"; reported, not failures: {allowed}" if allowed else "")


def render_anomaly(anomaly: Anomaly) -> str:
    where = f"ops {', '.join(map(str, anomaly.ops))}: " if anomaly.ops else ""  # cluster findings have none
    lines = [f"  - {where}{anomaly.explanation}"]
    for fault in anomaly.nemesis:
        stop = f"{fault.stop}" if fault.stop is not None else "never healed"
        lines.append(f"      during {fault.nemesis} (fault {fault.fault}, ops {fault.start}→{stop})")
    return "\n".join(lines)


def render_text(result: CheckResult) -> str:
    blocks = [summary(result)]
    for name, found in sorted(result.anomalies.items(), key=lambda item: (item[0] in INFORMATIONAL, item[0])):
        if not found:
            continue
        shown = SHOWN_INFORMATIONAL if name in INFORMATIONAL else SHOWN
        note = f" — not a failure: {INFORMATIONAL[name]}" if name in INFORMATIONAL else ""
        lines = [f"{name} ({len(found)}){note}"]
        lines.extend(render_anomaly(a) for a in found[:shown])
        if len(found) > shown:
            lines.append(f"  ... and {len(found) - shown} more (see --json)")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
