"""Bring your own client, live: Kafka's own VerifiableProducer / VerifiableConsumer run against a `harness up`
cluster while a partition leader is killed and restarted; their stdout, imported with `harness import
verifiable`, is VALID under `harness check`, and mutated copies are flagged. The cluster is removed afterwards."""

from __future__ import annotations

import pytest

import checkers
from tests.cluster.conftest import labelled_leftovers
from tests.cluster.verifiable_capture import capture
from tests.harness import verifiable_output as out
from tests.harness.test_import_verifiable import MUTATIONS, import_files

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="module")
def captured(tmp_path_factory, node_image, docker_client):
    done = capture(tmp_path_factory.mktemp("verifiable"), node_image)
    assert labelled_leftovers(docker_client, done.run_id) == [], "harness down removed the cluster"
    return done


def test_real_tool_output_under_a_broker_kill_imports_valid(captured, tmp_path):
    files = {"producers": list(captured.producers), "consumers": list(captured.consumers),
             "drain": captured.drain, "end_offsets": captured.end_offsets}
    imported = import_files(files, tmp_path / "history.jsonl")
    assert imported.returncode == 0, imported.stderr
    assert "drained: verifiable/0, verifiable/1, verifiable/2" in imported.stderr, imported.stderr
    result = checkers.check_file(tmp_path / "history.jsonl", "auto")
    assert result.valid is True, (result.failures, imported.stderr)
    sends = result.stats["sends"]
    # Every acknowledged record read, plus at most the sends whose outcome the kill left unknown (a timed-out
    # send may have been written: 3 of 300 were, once, on 4.3.1).
    assert sends["acknowledged"] > 0
    assert sends["acknowledged"] <= sends["read"] <= sends["acknowledged"] + sends["indeterminate"], sends


@pytest.mark.parametrize(("mutate", "anomalies"), MUTATIONS)
def test_mutated_copies_of_the_live_output_are_flagged(captured, tmp_path, mutate, anomalies):
    files = out.captured(captured.directory)
    changed = mutate(files)
    paths = out.write_all(tmp_path / "mutated", files, captured.end_offsets)
    assert import_files(paths, tmp_path / "history.jsonl").returncode == 0
    result = checkers.check_file(tmp_path / "history.jsonl", "auto")
    assert set(result.failures) == anomalies, (changed, result.failures)
