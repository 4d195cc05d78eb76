import re
from pathlib import Path

import orjson

from harness.report import REPORT, write_report
from harness.report.data import load_run
from harness.report.html import write_html
from tests.report.sample_run import LOST_SEND, LOST_WRITE_EXPLANATION, READ_PAST_IT


def page(results_dir: Path) -> str:
    return (results_dir / REPORT).read_text(encoding="utf-8")


def test_the_report_states_the_verdict_and_explains_each_anomaly(reported_dir: Path) -> None:
    html = page(reported_dir)
    assert 'class="verdict invalid">INVALID<' in html
    assert 'href="#anomaly-lost-write"' in html and 'id="anomaly-lost-write"' in html
    assert LOST_WRITE_EXPLANATION in html
    assert "duplicate" not in html.split('id="anomaly-list"')[1].split("</ul>")[0]  # empty kinds are not listed


def test_every_op_link_lands_on_that_op_line_from_the_history(reported_dir: Path) -> None:
    html = page(reported_dir)
    links = {int(i) for i in re.findall(r'href="#op-(\d+)"', html)}
    anchors = dict(re.findall(r'<span id="op-(\d+)">\s*\d+\s+(.*?)</span>', html))
    assert links == {LOST_SEND, READ_PAST_IT}
    assert links <= {int(i) for i in anchors}
    assert "&quot;offset&quot;:2" in anchors[str(LOST_SEND)]


def test_the_report_is_self_contained(reported_dir: Path) -> None:
    html = page(reported_dir)
    assert html.count('src="data:image/png;base64,') == 3
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert "<script" not in html


def test_faults_ops_and_config_are_tabled(reported_dir: Path) -> None:
    html = page(reported_dir)
    faults = html.split('id="faults"')[1].split("</table>")[0]
    assert "partition-dc" in faults and "<td class=\"n\">3.0</td><td class=\"n\">6.5</td>" in faults
    ops = html.split('id="ops"')[1].split("</table>")[0]
    assert "<tr><th>send</th><td class=\"n\">6</td><td class=\"n\">4</td><td class=\"n\">1</td>" in ops
    assert "kj-test01" in html and "&quot;seed&quot;: 7" in html


def test_a_run_with_only_its_history_still_gets_a_report_that_says_what_is_missing(history_only: Path) -> None:
    written = {p.name for p in write_report(history_only)}
    assert written == {"latency.png", "throughput.png", "junit.xml", REPORT}
    html = page(history_only)
    assert "NOT CHECKED" in html
    for name in ("results.json", "test.json", "cluster-state.jsonl"):
        assert f"<b>{name}</b> is missing" in html


def test_evidence_is_escaped(results_dir: Path) -> None:
    results = orjson.loads((results_dir / "results.json").read_bytes())
    results["anomalies"]["lost-write"][0]["explanation"] = "<script>alert(1)</script>"
    (results_dir / "results.json").write_bytes(orjson.dumps(results))
    write_html(load_run(results_dir), results_dir / REPORT)
    assert "<script>" not in page(results_dir) and "&lt;script&gt;" in page(results_dir)


def test_faults_active_during_an_anomaly_read_as_a_sentence(results_dir: Path) -> None:
    results = orjson.loads((results_dir / "results.json").read_bytes())
    results["anomalies"]["lost-write"][0]["nemesis"] = [{"nemesis": "partition-dc", "fault": 0, "start": 6,
                                                          "stop": 14, "value": {}}]
    (results_dir / "results.json").write_bytes(orjson.dumps(results))
    write_html(load_run(results_dir), results_dir / REPORT)
    assert "partition-dc fault 0 (from op 6 to op 14)" in page(results_dir)
