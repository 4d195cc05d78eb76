"""report.html: one self-contained page (inline CSS, plots as base64 PNG, no script, no network).

It opens from disk, from a CI artifact or a mail attachment alike. Every anomaly links to the ops it cites,
which are listed verbatim from the history at the bottom of the page.
"""

from __future__ import annotations

import base64
from html import escape
from pathlib import Path
from typing import Any

import orjson

from harness.report.data import MAX_CITED_OPS, NOT_FAILURES, OUTCOMES, RunData, evidence_indexes, group_rows
from harness.report.plots import CLUSTER_STATE, LATENCY, THROUGHPUT
from harness.results import NO_FAULT_INJECTED

MAX_EVIDENCE_SHOWN = 100
WHY_MISSING = {
    "results.json": "the history was not checked: no verdict, no anomalies (`harness check` checks it)",
    "test.json": "the test configuration is unknown",
    "cluster-state.jsonl": "no broker state over time",
}

CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1200px;padding:0 16px 48px;color:#212529}
h1{font-size:22px;margin:18px 0 4px}h2{font-size:18px;border-bottom:1px solid #dee2e6;margin-top:32px}
h3{font-size:15px;margin:18px 0 6px}code,pre,.mono{font-family:ui-monospace,monospace;font-size:12px}
table{border-collapse:collapse;margin:6px 0}td,th{border:1px solid #dee2e6;padding:3px 8px;text-align:left;
vertical-align:top}th{background:#f1f3f5}td.n{text-align:right}
.verdict{display:inline-block;padding:6px 14px;border-radius:4px;font-weight:700;font-size:18px;color:#fff}
.valid{background:#2f9e44}.invalid{background:#e03131}.unknown{background:#f08c00}.unchecked{background:#868e96}
.notice{background:#fff9db;border:1px solid #ffe066;padding:8px 12px;border-radius:4px}
.evidence{border-left:3px solid #e03131;padding:4px 10px;margin:8px 0;background:#fff5f5}
.evidence.info{border-color:#f08c00;background:#fff9db}
img{max-width:100%;border:1px solid #dee2e6;margin:6px 0}
pre.ops{background:#f8f9fa;padding:8px;overflow-x:auto}pre.ops span{display:block;white-space:pre}
pre.ops span:target{background:#ffec99}a{color:#1864ab}
"""


def write_html(data: RunData, target: Path) -> Path:
    body = [_header(data), _notices(data), _anomalies(data), _plots(data), _ops_table(data), _faults(data),
            _groups(data), _stats(data), _config(data), _cited_ops(data), _files(data)]
    title = escape(_test_name(data))
    page = (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title} · kafka-jepsen"
            f"</title><style>{CSS}</style></head><body>\n" + "\n".join(b for b in body if b) + "\n</body></html>\n")
    target.write_text(page, encoding="utf-8")
    return target


def verdict_word(data: RunData) -> tuple[str, str]:
    if data.results is None:
        return ("NOT CHECKED", "unchecked") if "results.json" in data.missing else ("UNREADABLE", "unknown")
    valid = data.results.get("valid")
    if valid is True:
        return "VALID", "valid"
    if valid == NO_FAULT_INJECTED:
        return "NO FAULT INJECTED", "unknown"
    return ("INVALID", "invalid") if valid is False else ("UNKNOWN", "unknown")


def _test_name(data: RunData) -> str:
    return str((data.test or {}).get("name") or data.path.resolve().parent.name or "run")


def _header(data: RunData) -> str:
    word, css = verdict_word(data)
    test = data.test or {}
    facts = [("results", str(data.path)), ("run id", test.get("run_id")), ("nemesis", test.get("nemesis")),
             ("seed", test.get("seed")), ("Kafka", test.get("kafka_version") or test.get("image")),
             ("history", f"{data.lines} events over {data.duration:.1f} s")]
    shown = " · ".join(f"{escape(k)}: <span class=\"mono\">{escape(str(v))}</span>" for k, v in facts if v)
    return (f"<h1>{escape(_test_name(data))}</h1><p><span id=\"verdict\" class=\"verdict {css}\">{word}</span></p>"
            f"<p>{shown}</p>")


def _notices(data: RunData) -> str:
    items = [f"<li><b>{escape(name)}</b> is missing: {escape(WHY_MISSING.get(name, 'not shown'))}</li>"
             for name in data.missing]
    items += [f"<li>{escape(problem)}</li>" for problem in data.problems]
    run = (data.results or {}).get("run") or {}
    if run.get("complete_drain") is False:
        items.append("<li>the final drain did not complete: lost writes past the last read cannot be proven</li>")
    items += [f"<li>nemesis error: {escape(str(e))}</li>" for e in run.get("nemesis_errors") or []]
    return f"<div class=\"notice\" id=\"notices\"><ul>{''.join(items)}</ul></div>" if items else ""


def _anomalies(data: RunData) -> str:
    if data.results is None:
        why = "is missing" if "results.json" in data.missing else "cannot be read"
        return f"<h2 id=\"anomalies\">Anomalies</h2><p>Not checked (results.json {why}).</p>"
    found = {name: ev if isinstance(ev, list) else [ev]
             for name, ev in (data.results.get("anomalies") or {}).items() if ev}
    if not found:
        return "<h2 id=\"anomalies\">Anomalies</h2><p>None found.</p>"
    index = "".join(f"<li><a href=\"#anomaly-{escape(n)}\">{escape(n)}</a> × {len(ev)}"
                    f"{' (information, not a failure)' if n in NOT_FAILURES else ''}</li>" for n, ev in found.items())
    parts = [f"<h2 id=\"anomalies\">Anomalies</h2><ul id=\"anomaly-list\">{index}</ul>"]
    for name, evidence in found.items():
        parts.append(f"<h3 id=\"anomaly-{escape(name)}\">{escape(name)} <small>({len(evidence)})</small></h3>")
        kind = "evidence info" if name in NOT_FAILURES else "evidence"
        parts += [f"<div class=\"{kind}\">{_evidence(e, data)}</div>" for e in evidence[:MAX_EVIDENCE_SHOWN]]
        if len(evidence) > MAX_EVIDENCE_SHOWN:
            parts.append(f"<p>… and {len(evidence) - MAX_EVIDENCE_SHOWN} more in results.json</p>")
    return "\n".join(parts)


def _evidence(evidence: Any, data: RunData) -> str:
    if not isinstance(evidence, dict):
        return f"<p>{escape(_compact(evidence))}</p>"
    parts = []
    if evidence.get("explanation"):
        parts.append(f"<p class=\"explanation\">{escape(str(evidence['explanation']))}</p>")
    indexes = evidence_indexes(evidence)
    if indexes:
        links = " ".join(f"<a href=\"#op-{i}\">{i}</a>" for i in indexes)
        parts.append(f"<p class=\"mono\">ops: {links}</p>")
    rest = [(k, v) for k, v in evidence.items() if k != "explanation" and not evidence_indexes({k: v})]
    if rest:
        rows = "".join(f"<tr><th>{escape(str(k))}</th><td class=\"mono\">{escape(_fact(k, v))}</td></tr>"
                       for k, v in rest)
        parts.append(f"<table class=\"kv\">{rows}</table>")
    return "".join(parts)


def _plots(data: RunData) -> str:
    parts = ["<h2 id=\"plots\">Plots</h2>"]
    for name, alt in ((LATENCY, "latency over time by op type and outcome"),
                      (THROUGHPUT, "throughput over time by outcome"),
                      (CLUSTER_STATE, "leaders, ISR size, under-replicated partitions and brokers over time")):
        png = data.path / name
        if png.is_file():
            encoded = base64.b64encode(png.read_bytes()).decode("ascii")
            parts.append(f"<figure><img id=\"plot-{name[:-4]}\" alt=\"{alt}\" src=\"data:image/png;base64,"
                         f"{encoded}\"><figcaption>{escape(name)}: {alt}</figcaption></figure>")
    if len(parts) == 1:
        parts.append("<p>Nothing to plot: the history holds no completed client ops.</p>")
    elif data.faults:
        parts.append("<p>Shaded bands are fault windows (from a fault's start to its heal).</p>")
    return "\n".join(parts)


def _ops_table(data: RunData) -> str:
    if not data.op_counts:
        return "<h2 id=\"ops\">Operations</h2><p>No client ops in the history.</p>"
    head = "".join(f"<th>{o}</th>" for o in ("invoke", *OUTCOMES, "never completed"))
    rows = []
    for f in data.client_fs:
        counts = [data.op_counts.get((f, t), 0) for t in ("invoke", *OUTCOMES)]
        counts.append(max(counts[0] - sum(counts[1:]), 0))
        rows.append(f"<tr><th>{escape(f)}</th>" + "".join(f"<td class=\"n\">{c}</td>" for c in counts) + "</tr>")
    return f"<h2 id=\"ops\">Operations</h2><table><tr><th>op</th>{head}</tr>{''.join(rows)}</table>"


def _faults(data: RunData) -> str:
    if not data.faults:
        return "<h2 id=\"faults\">Faults</h2><p>No fault windows in the history.</p>"
    rows = []
    for w in data.faults:
        end = f"{w.end:.1f}" if w.end is not None else "never healed"
        length = f"{w.end - w.start:.1f}" if w.end is not None else ""
        rows.append(f"<tr><td>{escape(w.fault)}</td><td>{escape(w.nemesis)}</td><td class=\"n\">{w.start:.1f}</td>"
                    f"<td class=\"n\">{end}</td><td class=\"n\">{length}</td>"
                    f"<td class=\"mono\">{escape(', '.join(w.targets))}</td><td class=\"mono\">{escape(w.detail)}</td>"
                    "</tr>")
    head = "<tr><th>fault</th><th>nemesis</th><th>start s</th><th>end s</th><th>length s</th><th>targets</th>" \
           "<th>detail</th></tr>"
    return f"<h2 id=\"faults\">Faults</h2><table>{head}{''.join(rows)}</table>"


def _groups(data: RunData) -> str:
    stats = (data.results or {}).get("stats") or {}
    rows = group_rows(stats)
    if not rows:
        return ""
    body = "".join(f"<tr><td class=\"mono\">{escape(g)}</td><td>{escape(p)}</td>" + "".join(
        f"<td class=\"n\">{v}</td>" for v in (m, r, d, per)) + "</tr>" for g, p, m, r, d, per in rows)
    extra = "".join(f"<li><span class=\"mono\">{escape(name)}</span>: {g.get('zombie_reads', 0)} reads by zombies, "
                    f"{g.get('fenced_commits', 0)} commits refused as fenced</li>"
                    for name, g in sorted((stats.get("groups") or {}).items()))
    head = ("<tr><th>group</th><th>protocol</th><th>members</th><th>rebalances</th><th>records redelivered</th>"
            "<th>per rebalance</th></tr>")
    return (f"<h2 id=\"groups\">Consumer groups by protocol</h2><table>{head}{body}</table><ul>{extra}</ul>")


def _stats(data: RunData) -> str:
    if data.results is None:
        return ""
    parts = ["<h2 id=\"stats\">Checker statistics</h2>"]
    for title, section in (("stats", data.results.get("stats")), ("run", data.results.get("run"))):
        if isinstance(section, dict) and section:
            rows = "".join(f"<tr><th>{escape(str(k))}</th><td class=\"mono\">{escape(_compact(v))}</td></tr>"
                           for k, v in section.items())
            parts.append(f"<h3>{title}</h3><table>{rows}</table>")
    return "\n".join(parts) if len(parts) > 1 else ""


def _config(data: RunData) -> str:
    if data.test is None:
        return "<h2 id=\"config\">Test configuration</h2><p>test.json is missing.</p>"
    text = orjson.dumps(data.test, option=orjson.OPT_INDENT_2).decode()
    return (f"<h2 id=\"config\">Test configuration</h2><details open><summary>test.json</summary>"
            f"<pre>{escape(text)}</pre></details>")


def _cited_ops(data: RunData) -> str:
    cited = sorted({i for ev in ((data.results or {}).get("anomalies") or {}).values()
                    for e in (ev if isinstance(ev, list) else [ev]) for i in evidence_indexes(e)})
    if not cited and not data.cited:
        return ""
    shown = sorted(set(cited[:MAX_CITED_OPS]) | set(data.cited))
    lines = []
    for i in shown:
        raw = data.cited.get(i)
        text = raw.decode("utf-8", "replace") if raw is not None else "(not in the history)"
        lines.append(f"<span id=\"op-{i}\">{i:>8}  {escape(text)}</span>")
    return (f"<h2 id=\"cited-ops\">Ops cited by the checker</h2><p>{len(cited)} ops cited; each with the invoke "
            f"of its process when a completion is cited.</p><pre class=\"ops\">{''.join(lines)}</pre>")


def _files(data: RunData) -> str:
    names = ["history.jsonl", "results.json", "test.json", "cluster-state.jsonl", "junit.xml", LATENCY,
             THROUGHPUT, CLUSTER_STATE, "logs"]
    links = [f"<li><a href=\"{escape(n)}\">{escape(n)}</a></li>" for n in names if (data.path / n).exists()]
    return f"<h2 id=\"files\">Files</h2><ul>{''.join(links)}</ul>"


def _fact(key: str, value: Any) -> str:
    """The checker's `nemesis` fact (faults active during the anomaly) reads as a sentence; the rest as JSON."""
    if key == "nemesis" and isinstance(value, list) and all(isinstance(v, dict) for v in value):
        if not value:
            return "no fault was active"
        return "; ".join(f"{v.get('nemesis')} fault {v.get('fault')} (from op {v.get('start')} to "
                         f"{'op ' + str(v['stop']) if v.get('stop') is not None else 'the end'})" for v in value)
    return _compact(value)


def _compact(value: Any, limit: int = 400) -> str:
    text = value if isinstance(value, str) else orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    return text if len(text) <= limit else text[: limit - 1] + "…"
