"""A run whose selected faults never took effect is not VALID: it tested nothing (exit 2, JUnit error)."""

from __future__ import annotations

import json
import random
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from core.clock import ManualClock
from core.topology import default_topology
from harness.report import load_run
from harness.report.junit import write_junit
from harness.results import NO_FAULT_INJECTED, ResultsDir
from harness.runner import Phases, _check
from infra.recorder import HistoryRecorder
from nemesis.base import NO_REQUIREMENTS, Fault, NemesisContext
from nemesis.schedule import NemesisSchedule, Step
from tests.checkers.test_cli import lost_write_history, valid_history


def results_with(tmp_path: Path, history) -> ResultsDir:
    results = ResultsDir(tmp_path / "results", "t")
    results.history.write_text("".join(json.dumps(e) + "\n" for e in history.events))
    return results


def phases(selected: bool, injected: int) -> Phases:
    return Phases("queue", True, [], selected, injected)


@pytest.mark.parametrize("selected, injected, expected", [
    (True, 0, NO_FAULT_INJECTED),  # faults chosen, none took effect: a clean history proves nothing
    (True, 1, True),
    (False, 0, True),  # --nemesis none: a baseline run, VALID is what it claims
])
def test_a_clean_history_is_valid_only_if_a_selected_fault_took_effect(tmp_path, selected, injected, expected):
    results = results_with(tmp_path, valid_history())
    outcome = _check(results, phases(selected, injected), {})
    assert outcome.valid == expected
    written = json.loads((results.path / "results.json").read_text())
    assert written["valid"] == expected and written["run"]["faults_injected"] == injected


def test_anomalies_found_without_a_fault_still_fail(tmp_path):
    outcome = _check(results_with(tmp_path, lost_write_history()), phases(True, 0), {})
    assert outcome.valid is False


def test_junit_shows_a_run_that_tested_nothing_as_an_error(tmp_path):
    results = results_with(tmp_path, valid_history())
    _check(results, phases(True, 0), {})
    write_junit(load_run(results.path), results.path / "junit.xml")
    verdict = next(c for c in ET.parse(results.path / "junit.xml").getroot().iter("testcase")
                   if c.get("name") == "verdict")
    error = verdict.find("error")
    assert error is not None and error.get("type") == NO_FAULT_INJECTED


class EmptyHanded:
    """Starts without error but reaches no node (e.g. a partition of a one-DC topology)."""

    name, description, requires = "empty", "test", NO_REQUIREMENTS

    def start(self, ctx):
        return Fault(self.name, ())

    def stop(self, ctx, fault):
        pass

    def heal_all(self, ctx):
        pass


def test_the_schedule_counts_only_faults_that_hit_a_target(tmp_path):
    clock = ManualClock()
    with HistoryRecorder(tmp_path / "h.jsonl") as history:
        schedule = NemesisSchedule([], NemesisContext(default_topology(), {}, {}, random.Random(1)), history, 99,
                                   timeline=[Step(0.0, EmptyHanded(), 1.0)], clock=clock)
        schedule.start()
        clock.advance(2.0)
        schedule.final_heal()
    assert schedule.injected == 0
