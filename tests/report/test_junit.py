import xml.etree.ElementTree as ET
from pathlib import Path

import orjson

from checkers import check_file, result_to_json
from checkers.cluster import check_cluster_file, merge
from core.anomalies import family
from harness.report import load_run
from harness.report.junit import write_junit
from tests.checkers.test_cluster import leader_samples
from tests.report.sample_run import LOST_WRITE_EXPLANATION


def write_report(results_dir: Path) -> None:
    write_junit(load_run(results_dir), results_dir / "junit.xml")


def cases(results_dir: Path) -> dict[str, ET.Element]:
    root = ET.parse(results_dir / "junit.xml").getroot()
    return {case.get("name", ""): case for case in root.iter("testcase")}


def test_each_checked_property_is_a_test_case_and_the_broken_one_fails_with_its_explanation(reported_dir: Path) \
        -> None:
    found = cases(reported_dir)
    assert {"lost-write", "duplicate", "poll-skip", "unexpected-value", "verdict"} <= set(found)
    failure = found["lost-write"].find("failure")
    assert failure is not None and failure.get("type") == "lost-write"
    assert LOST_WRITE_EXPLANATION in (failure.get("message") or "")
    assert LOST_WRITE_EXPLANATION in (failure.text or "") and "ops 8, 16" in (failure.text or "")
    assert found["duplicate"].find("failure") is None
    assert found["verdict"].find("failure") is not None


def test_the_suite_counts_tests_and_failures(reported_dir: Path) -> None:
    root = ET.parse(reported_dir / "junit.xml").getroot()
    suite = root.find("testsuite")
    assert suite is not None
    assert suite.get("failures") == "2"  # lost-write and the verdict
    assert int(suite.get("tests") or 0) == len(list(suite.iter("testcase")))
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert properties["seed"] == "7" and properties["run_id"] == "kj-test01"


def test_informational_kinds_pass_and_keep_their_evidence_in_system_out(results_dir: Path) -> None:
    results = orjson.loads((results_dir / "results.json").read_bytes())
    results["valid"] = True
    results["anomalies"] = {"unseen": [{"ops": [18], "explanation": "value 6 was never read"}]}
    (results_dir / "results.json").write_bytes(orjson.dumps(results))
    write_report(results_dir)
    unseen = cases(results_dir)["unseen"]
    assert unseen.find("failure") is None
    assert "value 6 was never read" in (unseen.findtext("system-out") or "")
    assert cases(results_dir)["verdict"].find("failure") is None


def test_an_unknown_verdict_is_an_error_not_a_pass(results_dir: Path) -> None:
    (results_dir / "results.json").write_bytes(orjson.dumps({"valid": "unknown", "anomalies": {},
                                                             "run": {"complete_drain": False}}))
    write_report(results_dir)
    verdict = cases(results_dir)["verdict"]
    assert verdict.find("error") is not None
    assert "drain did not complete" in (verdict.findtext("system-err") or "")


def test_an_unchecked_run_is_one_skipped_case(history_only: Path) -> None:
    write_report(history_only)
    (check,) = cases(history_only).values()
    skipped = check.find("skipped")
    assert skipped is not None and "results.json is missing" in (skipped.get("message") or "")


def test_a_kind_outside_the_known_vocabulary_still_gets_its_case(results_dir: Path) -> None:
    results = orjson.loads((results_dir / "results.json").read_bytes())
    results["anomalies"]["phantom-offset"] = [{"ops": [3], "explanation": "new kind"}]
    (results_dir / "results.json").write_bytes(orjson.dumps(results))
    write_report(results_dir)
    assert cases(results_dir)["phantom-offset"].find("failure") is not None


def test_the_checkers_own_list_of_checked_kinds_wins_over_the_vocabulary(results_dir: Path) -> None:
    results = orjson.loads((results_dir / "results.json").read_bytes())
    results["stats"]["checked"] = ["lost-write", "duplicate"]  # where the checker writes it
    (results_dir / "results.json").write_bytes(orjson.dumps(results))
    write_report(results_dir)
    assert list(cases(results_dir)) == ["lost-write", "duplicate", "verdict"]


def test_a_real_check_with_node_views_gives_one_case_per_catalog_kind_it_checked(results_dir: Path) -> None:
    # What the checkers write, not a hand-made list: the queue family from the history, split-brain from the views.
    history = check_file(results_dir / "history.jsonl")
    (results_dir / "cluster-state.jsonl").write_bytes(b"".join(
        orjson.dumps(s) + b"\n" for s in leader_samples({"b1": "0000000000", "b2": "..11111111"})))
    nodes = check_cluster_file(results_dir / "cluster-state.jsonl", results_dir / "history.jsonl")
    (results_dir / "results.json").write_bytes(orjson.dumps(result_to_json(merge(history, nodes))))
    write_report(results_dir)
    expected = [*family("queue"), *family("split-brain")]
    assert list(cases(results_dir))[:len(expected)] == expected
    assert cases(results_dir)["stale-leader"].find("system-out") is not None  # b1 kept epoch 0 after b2 led at 1


def test_a_group_check_adds_the_group_properties(results_dir: Path) -> None:
    results = orjson.loads((results_dir / "results.json").read_bytes())
    results["stats"]["checked_as"] = "group"
    (results_dir / "results.json").write_bytes(orjson.dumps(results))
    write_report(results_dir)
    assert {"group-skip", "commit-regression"} <= set(cases(results_dir))
