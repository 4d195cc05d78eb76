"""junit.xml: one test case per checked property (anomaly kind), so a CI system shows which guarantee broke.

A kind with evidence is a <failure> whose text is the checker's explanations and the op indexes; `unseen` is
information only and passes with the evidence in <system-out>; the overall verdict is a test case of its own.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import orjson

from core.anomalies import family
from harness.report.data import NOT_FAILURES, RunData, evidence_indexes
from harness.results import NO_FAULT_INJECTED

SUITE = "kafka-jepsen"
MAX_EVIDENCE_IN_TEXT = 50


def write_junit(data: RunData, target: Path) -> Path:
    name = str((data.test or {}).get("name") or data.path.resolve().parent.name)
    suite = ET.Element("testsuite", name=f"{SUITE}.{name}", time=f"{data.duration:.3f}")
    _properties(suite, data)
    classname = f"{SUITE}.{name}"
    if data.results is None and "results.json" in data.missing:
        case = ET.SubElement(suite, "testcase", classname=classname, name="check", time="0")
        ET.SubElement(case, "skipped", message="results.json is missing: the history was not checked")
    elif data.results is None:  # there, but unreadable: an error a CI system shows red, never a skip
        case = ET.SubElement(suite, "testcase", classname=classname, name="verdict", time="0")
        why = next((p for p in data.problems if "results.json" in p), "results.json cannot be read")
        ET.SubElement(case, "error", message=f"verdict unknown: {why}", type="unreadable")
    else:
        anomalies = data.results.get("anomalies") or {}
        for kind in checked_properties(data):
            _property_case(suite, classname, kind, anomalies.get(kind) or [])
        _verdict_case(suite, classname, data.results)
    cases = suite.findall("testcase")
    totals = {tag: sum(1 for c in cases if c.find(tag) is not None) for tag in ("failure", "error", "skipped")}
    suite.set("tests", str(len(cases)))
    for tag, attribute in (("failure", "failures"), ("error", "errors"), ("skipped", "skipped")):
        suite.set(attribute, str(totals[tag]))
    root = ET.Element("testsuites", name=SUITE, tests=str(len(cases)), failures=str(totals["failure"]),
                      errors=str(totals["error"]))
    root.append(suite)
    ET.indent(root)
    ET.ElementTree(root).write(target, encoding="utf-8", xml_declaration=True)
    return target


def checked_properties(data: RunData) -> list[str]:
    """The catalog kinds the checker says it looked for (`stats.checked`); results written before it said so get
    the families of their workload (and split-brain when the nodes' views were checked). Any kind found outside
    that list is added, so no evidence goes unreported."""
    results = data.results or {}
    stats = results.get("stats") or {}
    declared = stats.get("checked")
    if isinstance(declared, list) and declared:
        kinds = [str(k) for k in declared]
    else:
        kinds = list(family("queue"))
        workload = str(stats.get("checked_as") or ((data.test or {}).get("workload") or {}).get("name", ""))
        if workload == "txn" or any(f == "txn" for f, _ in data.op_counts):
            kinds += family("txn")
        if workload == "group":
            kinds += family("group")
        if workload == "mirror":
            kinds += family("mirror")
        if (stats.get("cluster") or {}).get("views"):
            kinds += family("split-brain")
    kinds += [k for k in (results.get("anomalies") or {}) if k not in kinds]
    return kinds


def describe(kind: str, evidence: list[Any]) -> str:
    lines = [f"{len(evidence)} × {kind}"]
    for item in evidence[:MAX_EVIDENCE_IN_TEXT]:
        if isinstance(item, dict):
            text = str(item.get("explanation") or orjson.dumps(item, option=orjson.OPT_NON_STR_KEYS).decode())
            ops = evidence_indexes(item)
            lines.append(f"- {text}" + (f" (ops {', '.join(map(str, ops))})" if ops else ""))
        else:
            lines.append(f"- {item}")
    if len(evidence) > MAX_EVIDENCE_IN_TEXT:
        lines.append(f"… and {len(evidence) - MAX_EVIDENCE_IN_TEXT} more in results.json")
    return "\n".join(lines)


def _property_case(suite: ET.Element, classname: str, kind: str, evidence: Any) -> None:
    evidence = evidence if isinstance(evidence, list) else [evidence]
    case = ET.SubElement(suite, "testcase", classname=classname, name=kind, time="0")
    if not evidence:
        return
    if kind in NOT_FAILURES:
        ET.SubElement(case, "system-out").text = describe(kind, evidence)
        return
    first = evidence[0]
    headline = first.get("explanation") if isinstance(first, dict) else None
    message = f"{len(evidence)} × {kind}" + (f": {headline}" if headline else "")
    failure = ET.SubElement(case, "failure", message=message[:500], type=kind)
    failure.text = describe(kind, evidence)


def _verdict_case(suite: ET.Element, classname: str, results: dict[str, Any]) -> None:
    case = ET.SubElement(suite, "testcase", classname=classname, name="verdict", time="0")
    valid = results.get("valid")
    run = results.get("run") or {}
    notes = []
    if run.get("complete_drain") is False:
        notes.append("the final drain did not complete")
    notes += [f"nemesis error: {e}" for e in run.get("nemesis_errors") or []]
    if valid is False:
        broken = [k for k, v in (results.get("anomalies") or {}).items() if v and k not in NOT_FAILURES]
        ET.SubElement(case, "failure", message=f"invalid: {', '.join(broken) or 'see results.json'}", type="invalid")
    elif valid == NO_FAULT_INJECTED:
        ET.SubElement(case, "error", message="no selected fault took effect: the run tested nothing",
                      type=NO_FAULT_INJECTED)
    elif valid is not True:
        ET.SubElement(case, "error", message="verdict unknown: the checker could not decide", type="unknown")
    if notes:
        ET.SubElement(case, "system-err").text = "\n".join(notes)


def _properties(suite: ET.Element, data: RunData) -> None:
    test = data.test or {}
    chosen = {k: test.get(k) for k in ("run_id", "seed", "nemesis", "kafka_version", "image", "time_limit")}
    chosen["results"] = str(data.path)
    properties = ET.SubElement(suite, "properties")
    for key, value in chosen.items():
        if value is not None:
            ET.SubElement(properties, "property", name=key, value=str(value))
