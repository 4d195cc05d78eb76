"""Run axes (the Kafka release): they multiply a sweep's cases, label every row, skip what cannot run, and the
matrix says where the outcome changes along them."""

import json

import pytest

from core import kafka_versions, topology
from core.errors import HarnessError
from harness import scenario, sweep, sweep_axes
from harness.sweep import Case, Trial


def scenario_cases(tmp_path, *names):
    return sweep.scenario_cases([scenario.find(n) for n in names], tmp_path)


def test_without_versions_every_case_keeps_its_own_release_and_is_labelled_with_it(tmp_path):
    cases = sweep_axes.expand(scenario_cases(tmp_path, "zombie-leader", "zombie-leader-zk"), [sweep_axes.kafka_axis()])
    assert [(c.key, c.variant, c.axes) for c in cases] == [
        ("zombie-leader", "unsafe", (("kafka", kafka_versions.DEFAULT),)),
        ("zombie-leader", "control", (("kafka", kafka_versions.DEFAULT),)),
        ("zombie-leader-zk", "unsafe", (("kafka", "3.9.1"),)),
        ("zombie-leader-zk", "control", (("kafka", "3.9.1"),))]
    assert cases[0].options.results_root == tmp_path / "zombie-leader" / "unsafe", "no extra folder level"


def test_versions_multiply_every_case_and_each_runs_on_its_release_in_its_own_folder(tmp_path):
    cases = sweep_axes.expand(scenario_cases(tmp_path, "zombie-leader"), [sweep_axes.kafka_axis(["3.9.1", "4.0.0"])])
    assert [(c.variant, dict(c.axes)["kafka"], c.options.kafka_version) for c in cases] == [
        ("unsafe", "3.9.1", "3.9.1"), ("unsafe", "4.0.0", "4.0.0"),
        ("control", "3.9.1", "3.9.1"), ("control", "4.0.0", "4.0.0")]
    assert cases[1].options.results_root == tmp_path / "zombie-leader" / "unsafe" / "kafka-4.0.0"


def test_zookeeper_mode_on_a_4x_release_is_not_run_and_the_matrix_says_why(tmp_path):
    cases = sweep_axes.expand(scenario_cases(tmp_path, "zombie-leader-zk"),
                              [sweep_axes.kafka_axis(["3.9.1", "4.3.1"])])
    runnable = [(c.variant, c.options.kafka_version) for c in cases if c.options is not None]
    assert runnable == [("unsafe", "3.9.1"), ("control", "3.9.1")]
    table = sweep.scenario_table(sweep.scenario_rows([], cases))
    assert table[0][:3] == ["scenario", "variant", "kafka"]
    refused = [row for row in table[1:] if row[2] == "4.3.1"]
    assert len(refused) == 2
    assert all(row[-2].startswith("not run: Kafka 4.3.1 has no ZooKeeper mode") for row in refused)


def test_a_grid_is_multiplied_too_and_a_config_the_client_refuses_stays_refused_on_every_release(tmp_path):


    grid = sweep.grid_cases(sweep.parse_grid(["acks=1,all", "idempotence=true"]), ["kill-dc"],
                            topology.default_topology(), tmp_path, 30, 10)
    cases = sweep_axes.expand(grid, [sweep_axes.kafka_axis(["3.9.1", "4.0.0"])])
    assert [(c.key, dict(c.axes)["kafka"], c.options is None) for c in cases] == [
        ("acks=1 idempotence=true", "3.9.1", True), ("acks=1 idempotence=true", "4.0.0", True),
        ("acks=all idempotence=true", "3.9.1", False), ("acks=all idempotence=true", "4.0.0", False)]
    table = sweep.grid_table(sweep.grid_rows([], cases))
    assert table[0][:3] == ["config", "nemesis", "kafka"] and table[1][2] == "3.9.1"


def test_a_bad_release_in_the_axis_is_refused_before_anything_runs():
    with pytest.raises(HarnessError, match="not a release number"):
        sweep_axes.kafka_axis(["4.0"])


def trial(variant, version, run, valid, failures=()):
    return Trial("s", variant, run, valid, tuple(failures), None, 0.0, axes=(("kafka", version),))


def test_trials_count_only_in_the_row_of_their_release_and_a_changed_outcome_is_named():
    cases = [Case("s", v, None, expect=("lost-write",), axes=(("kafka", k),))
             for v in ("unsafe", "control") for k in ("3.9.1", "4.3.1")]
    trials = [trial("unsafe", "3.9.1", 1, False, ["lost-write"]), trial("unsafe", "3.9.1", 2, False, ["lost-write"]),
              trial("unsafe", "4.3.1", 1, True), trial("unsafe", "4.3.1", 2, False, ["lost-write"]),
              trial("control", "3.9.1", 1, True), trial("control", "4.3.1", 1, True)]
    rows = sweep.scenario_rows(trials, cases)
    assert [(r.variant, dict(r.axes)["kafka"], r.rate()) for r in rows] == [
        ("unsafe", "3.9.1", "2/2"), ("unsafe", "4.3.1", "1/2"),
        ("control", "3.9.1", "0/1"), ("control", "4.3.1", "0/1")]
    assert sweep_axes.outcome_changes(rows, "kafka") == [
        "s unsafe: the outcome changes with kafka (3.9.1: 2/2 lost-write; 4.3.1: 1/2 lost-write)"]


def test_the_same_rate_over_different_run_counts_is_no_change_and_unjudged_cells_do_not_count():
    cases = [Case("s", "unsafe", None, expect=("lost-write",), axes=(("kafka", k),))
             for k in ("3.9.1", "4.0.0", "4.3.1")]
    trials = [trial("unsafe", "3.9.1", 1, False, ["lost-write"]),
              trial("unsafe", "4.0.0", 1, False, ["lost-write"]), trial("unsafe", "4.0.0", 2, False, ["lost-write"]),
              trial("unsafe", "4.3.1", 1, "error")]
    assert sweep_axes.outcome_changes(sweep.scenario_rows(trials, cases), "kafka") == []


def test_the_matrix_files_show_the_release_column_and_where_it_changed_the_outcome(tmp_path):
    cases = [Case("s", "unsafe", None, expect=("lost-write",), axes=(("kafka", k),)) for k in ("3.9.1", "4.3.1")]
    trials = [trial("unsafe", "3.9.1", 1, False, ["lost-write"]), trial("unsafe", "4.3.1", 1, True)]
    rows = sweep.scenario_rows(trials, cases)
    changes = sweep_axes.outcome_changes(rows, "kafka")
    md, page, data = sweep.write_matrix(tmp_path, "T", sweep.scenario_table(rows), rows, trials, ["1 run"], changes)
    assert "| s | unsafe | 3.9.1 | 1 | 1/1 |" in md.read_text()
    assert "| s | unsafe | 4.3.1 | 1 | 0/1 |" in md.read_text()
    assert "- s unsafe: the outcome changes with kafka (3.9.1: 1/1 lost-write; 4.3.1: 0/1 none)" in md.read_text()
    assert "<td>4.3.1</td>" in page.read_text() and "changes with kafka" in page.read_text()
    loaded = json.loads(data.read_text())
    assert loaded["changes"] == changes and loaded["rows"][1]["axes"] == [["kafka", "4.3.1"]]
    assert loaded["trials"][0]["axes"] == [["kafka", "3.9.1"]]


def test_clients_multiply_every_case_and_a_case_the_java_driver_cannot_run_is_not_run_with_why(tmp_path):
    # zombie-leader runs the queue workload under a leader partition: both clients run it.
    cases = sweep_axes.expand(scenario_cases(tmp_path, "zombie-leader"),
                              [sweep_axes.kafka_axis(), sweep_axes.client_axis(["librdkafka", "java"])])
    assert [(c.variant, dict(c.axes)["client"], c.options.client) for c in cases] == [
        ("unsafe", "librdkafka", "librdkafka"), ("unsafe", "java", "java"),
        ("control", "librdkafka", "librdkafka"), ("control", "java", "java")]
    assert cases[1].options.results_root == tmp_path / "zombie-leader" / "unsafe" / "client-java"
    # outage-dc1 cuts dc1 off from the host's clients; the Java driver, in a container of its own, would escape it.
    grid = sweep.grid_cases(sweep.parse_grid(("acks=all",)), ["outage-dc1"], topology.default_topology(),
                            tmp_path, 60.0, 15.0)
    expanded = sweep_axes.expand(grid, [sweep_axes.client_axis(["librdkafka", "java"])])
    assert [(dict(c.axes)["client"], c.options is None) for c in expanded] == [("librdkafka", False), ("java", True)]
    assert "cuts a DC off from the host's clients" in expanded[1].skipped


def test_without_clients_every_case_is_labelled_with_its_own_client(tmp_path):
    cases = sweep_axes.expand(scenario_cases(tmp_path, "zombie-leader"), [sweep_axes.client_axis()])
    assert [dict(c.axes)["client"] for c in cases] == ["librdkafka", "librdkafka"]
    assert cases[0].options.results_root == tmp_path / "zombie-leader" / "unsafe"


def test_a_client_bugs_cases_run_the_pinned_kafka_clients_and_are_labelled_with_it(tmp_path):
    cases = sweep_axes.expand(scenario_cases(tmp_path, "kafka-18641-async-auto-commit"), [sweep_axes.client_axis()])
    assert [dict(c.axes)["client"] for c in cases] == ["java 3.9.1", "java 4.1.2"]
    assert [(c.options.client, c.options.client_version) for c in cases] == [("java", "3.9.1"), ("java", "4.1.2")]


@pytest.mark.parametrize("given, message", [
    (["kafka-python"], "--clients: unknown client 'kafka-python'"),
    (["java", "java"], "--clients: java given twice"),
    ([" "], "--clients needs at least one client")])
def test_bad_clients_are_refused_before_any_run(given, message):
    with pytest.raises(HarnessError, match="^" + message):
        sweep_axes.client_axis(given)


def test_the_outcome_changes_with_the_client_line():
    cases = [Case("s", "unsafe", None, expect=("lost-write",), axes=(("kafka", "4.3.1"), ("client", c)))
             for c in ("librdkafka", "java")]
    trials = [Trial("s", "unsafe", 1, False, ("lost-write",), None, 0.0, axes=cases[0].axes),
              Trial("s", "unsafe", 1, True, (), None, 0.0, axes=cases[1].axes)]
    rows = sweep.scenario_rows(trials, cases)
    changes = sweep_axes.outcome_changes(rows, "client")
    assert len(changes) == 1 and "kafka=4.3.1" in changes[0] and "the outcome changes with client" in changes[0]
    assert sweep_axes.outcome_changes(rows, "kafka") == []
