"""The incident library for real: each scenario's unsafe variant must produce the anomaly it expects, and its
control (the same faults, the safer config) must be clean. zombie-leader runs in `make test`; the others are
`slow` (`make test-all`). A run that fails here is a finding about the scenario, never a reason to loosen it."""

import dataclasses

import pytest

from harness.runner import run_test
from harness.scenario import find
from harness.sweep import scenario_run_options

pytestmark = pytest.mark.cluster

SLOW = ["acks1-leader-failover", "unclean-election", "min-insync-1-dc-disaster", "no-rack-awareness-dc-disaster",
        "no-idempotence-reorder", "clock-jump-retention", "auto-commit-crash",
        "kafka-18641-async-auto-commit", "async-poll-auto-commit-regression"]  # client bugs: the Java driver


def run(name, control, tmp_path, image_for):
    scenario = find(name)
    options = scenario_run_options(scenario, control, tmp_path)  # on the release it pins, else the default
    options = dataclasses.replace(options, image=image_for(options.kafka_version))
    outcome = run_test(options, say=lambda _: None)
    found = sorted(k for k, v in outcome.result_json["anomalies"].items() if v)
    return scenario, outcome, found


def assert_reproduced(name, tmp_path, image_for):
    scenario, outcome, found = run(name, False, tmp_path, image_for)
    assert outcome.valid is False and set(found) & set(scenario.expect), (
        f"{name} unsafe: expected {scenario.expect}, found {found} ({outcome.results})")


def assert_clean(name, tmp_path, image_for):
    _, outcome, found = run(name, True, tmp_path, image_for)
    assert outcome.valid is True, f"{name} control found {found} ({outcome.results})"
    assert outcome.result_json["stats"]["sends"]["acknowledged"] > 100, "the control really wrote"


@pytest.mark.timeout(420)
def test_zombie_leader_loses_acknowledged_acks1_writes(tmp_path, image_for):
    assert_reproduced("zombie-leader", tmp_path, image_for)


@pytest.mark.timeout(420)
def test_zombie_leader_control_acks_all_min_insync_2_is_clean(tmp_path, image_for):
    assert_clean("zombie-leader", tmp_path, image_for)


@pytest.mark.slow
@pytest.mark.timeout(480)
@pytest.mark.parametrize("name", SLOW)
def test_unsafe_variant_reproduces_its_anomaly(name, tmp_path, image_for):
    assert_reproduced(name, tmp_path, image_for)


@pytest.mark.slow
@pytest.mark.timeout(480)
@pytest.mark.parametrize("name", SLOW)
def test_control_variant_is_clean(name, tmp_path, image_for):
    assert_clean(name, tmp_path, image_for)
