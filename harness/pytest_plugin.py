"""The pytest plugin (entry point `pytest11`, so installing kafka-jepsen is all it takes).

    import pytest
    from harness.api import check

    pytestmark = pytest.mark.kafka_cluster(topology="stretch-3dc")

    def test_acks_all_keeps_acknowledged_writes(kafka_cluster, tmp_path):
        topic = kafka_cluster.create_topic("t", config={"min.insync.replicas": "2"})
        with kafka_cluster.recorder(tmp_path / "history.jsonl") as history:
            with kafka_cluster.fault("partition-leader", topic=topic):
                ...  # your producers and consumers, recording through `history`
            history.drain(topic, healed=kafka_cluster.wait_fully_replicated(topic))
        assert check(history).valid

`kafka_cluster` is module-scoped: one real cluster per test module (harness/live_cluster.py), removed after the
module's last test, also after a failure, Ctrl-C or SIGTERM. Its settings come from the module's
`pytest.mark.kafka_cluster(...)` (the `harness up` flags: topology, dcs, brokers_per_dc, controllers, mode,
kafka_version, image; and clock_control, seed), or from indirect parametrization with a dict of them.

When a test fails, every check it made that was not valid is printed in full, evidence and all, in a section
"harness check" (pytest's assertion message shows only the start of a long repr).
"""

from __future__ import annotations

import difflib
from collections.abc import Generator, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from core.errors import HarnessError

if TYPE_CHECKING:
    from harness.api import CheckResult
    from harness.live_cluster import LiveCluster

MARKER = "kafka_cluster"
# Marker keyword -> live_cluster.start's parameter.
SETTINGS = {"topology": "topology", "dcs": "dcs", "brokers_per_dc": "brokers_per_dc", "controllers": "controllers",
            "mode": "mode", "kafka_version": "kafka_version", "image": "image_tag", "clock_control": "clock_control",
            "seed": "seed"}
_checks = pytest.StashKey[list["CheckResult"]]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{MARKER}({', '.join(f'{k}=...' for k in SETTINGS)}): the real cluster the "
                            "kafka_cluster fixture starts for this module (put it in the module's pytestmark)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The fixture is per module, so a marker on one test cannot change its cluster: say so instead of ignoring it.
    for item in items:
        if any(mark.name == MARKER for mark in getattr(item, "own_markers", ())):
            raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.{MARKER} on a test does nothing (one cluster per "
                                    f"module); put it in the module: pytestmark = pytest.mark.{MARKER}(...)")


def settings(request: pytest.FixtureRequest) -> dict[str, Any]:
    """live_cluster.start's keyword arguments from indirect parametrization, else from the module's marker."""
    given: dict[str, Any] = {}
    marker = request.node.get_closest_marker(MARKER)
    if marker is not None:
        if marker.args:
            raise HarnessError(f"@pytest.mark.{MARKER} takes keywords only", hint=", ".join(SETTINGS))
        given.update(marker.kwargs)
    param = getattr(request, "param", None)
    if param is not None:
        if not isinstance(param, dict):
            raise HarnessError(f"{MARKER} parameters are dicts of settings, got {param!r}")
        given.update(param)
    unknown = [key for key in given if key not in SETTINGS]
    if unknown:
        close = difflib.get_close_matches(unknown[0], SETTINGS, n=2)
        raise HarnessError(f"{MARKER} has no setting {unknown[0]!r}",
                           hint=f"did you mean {' or '.join(close)}?" if close else "known: " + ", ".join(SETTINGS))
    return {SETTINGS[key]: value for key, value in given.items()}


@pytest.fixture(scope="module")
def kafka_cluster(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveCluster]:
    """A real Kafka cluster in Docker, once per module: `.bootstrap_servers`, `.create_topic(...)`,
    `.recorder(path)`, `.fault(name)`, `.wait_fully_replicated(topic)`, `.run_workload(...)`."""
    from harness import live_cluster

    with ExitStack() as stack:
        try:
            options = settings(request)
            logs = Path(tmp_path_factory.mktemp("kafka-cluster-logs"))
            cluster = stack.enter_context(live_cluster.start(**options, logs_dir=logs))
        except HarnessError as error:  # the user's mistake (or no engine): one line, no traceback
            pytest.fail(f"kafka_cluster: {error}", pytrace=False)
        yield cluster


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    from harness.api import observing

    seen: list[CheckResult] = []
    item.stash[_checks] = seen
    with observing(seen.append):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    if report.failed and call.excinfo is not None and call.excinfo.errisinstance(HarnessError):
        report.longrepr = _one_line(item, call.excinfo)  # the user's mistake: one line, as the CLI says it
    if call.when == "call" and report.failed:
        shown = [str(result) for result in item.stash.get(_checks, []) if not result.valid]
        if shown:
            report.sections.append(("harness check", "\n\n".join(shown)))
    return report


def _one_line(item: pytest.Item, excinfo: pytest.ExceptionInfo[BaseException]) -> str:
    """`harness: error: ...`, and the line of the test module that led to it."""
    in_test = [entry for entry in excinfo.traceback if Path(str(entry.path)) == item.path]
    where = f" ({item.path.name}:{in_test[-1].lineno + 1})" if in_test else ""
    return f"harness: error: {excinfo.value}{where}"
