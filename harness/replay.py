"""`harness replay` and `harness shrink` start from a results directory: what it says about its run (the exact
options and seed from test.json's `run_options`, the failing anomalies from results.json)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import orjson

from core.anomalies import fails
from core.errors import HarnessError
from harness.run_options import RunOptions, from_json


@dataclasses.dataclass(frozen=True)
class Recorded:
    """What a results directory says about its run."""

    options: RunOptions  # with the seed the run used
    failures: tuple[str, ...]  # the failing anomalies it found (results.json), () if none or not checked
    directory: Path


def read(directory: Path) -> Recorded:
    test = directory / "test.json"
    if not test.is_file():
        raise HarnessError(f"{directory} is not a run's results directory (no test.json)",
                           hint="give a directory like results/<test-name>/<timestamp>/ (or results/latest)")
    try:
        data = orjson.loads(test.read_bytes())
    except orjson.JSONDecodeError as error:
        raise HarnessError(f"{test} is not JSON: {error}") from None
    if "run_options" not in data:
        raise HarnessError(f"{test} has no run_options: the run was made by an older harness, which did not "
                           "record every option", hint="re-run it (harness run ... --seed "
                           f"{data.get('seed', 'N')}) with this harness, then replay that")
    options = dataclasses.replace(from_json(data["run_options"], str(test)), seed=int(data["seed"]))
    return Recorded(options, _failures(directory / "results.json"), directory)


def _failures(path: Path) -> tuple[str, ...]:
    if not path.is_file():
        return ()
    data = orjson.loads(path.read_bytes())
    return tuple(sorted(name for name, evidence in data.get("anomalies", {}).items() if evidence and fails(name)))
