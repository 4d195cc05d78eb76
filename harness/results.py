"""The results directory of one run: results/<test-name>/<timestamp>/ and a results/latest link."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

import orjson

from core.errors import HarnessError

LATEST = "latest"
# A plain name: one folder under the results root, never a path, never hidden, never the `latest` link.
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}$")


def check_test_name(name: str) -> str:
    """`name` if it is a plain folder name for results/<name>/; a HarnessError otherwise (`../x` would write
    outside the results root, `latest` would make results/latest a link into itself)."""
    if not _SAFE_NAME.match(name) or name == LATEST or ".." in name:
        raise HarnessError(f"test name {name!r} is not a plain folder name",
                           hint="letters, digits and . _ + -, starting with a letter or digit, at most 100, "
                                "no '..', not 'latest'")
    return name

# The run's verdict when faults were selected but none took effect: the history may be clean, yet it tested
# nothing. Never VALID: `harness run` exits 2, JUnit shows an error, `harness runs` and the report say so.
NO_FAULT_INJECTED = "no-fault-injected"


class ResultsDir:
    def __init__(self, root: Path, test_name: str) -> None:
        stamp = time.strftime("%Y%m%dT%H%M%S")
        path = root / check_test_name(test_name) / stamp
        suffix = 1
        while path.exists():  # two runs in one second must not share a directory
            suffix += 1
            path = root / test_name / f"{stamp}-{suffix}"
        path.mkdir(parents=True)
        self.path = path
        self.root = root
        self._link_latest()

    def _link_latest(self) -> None:
        latest = self.root / LATEST
        temporary = self.root / f".latest-{os.getpid()}"
        temporary.unlink(missing_ok=True)
        temporary.symlink_to(self.path.relative_to(self.root))
        temporary.replace(latest)  # atomic: a reader never sees a missing link

    @property
    def history(self) -> Path:
        return self.path / "history.jsonl"

    @property
    def cluster_state(self) -> Path:
        return self.path / "cluster-state.jsonl"

    @property
    def logs(self) -> Path:
        return self.path / "logs"

    def update_json(self, name: str, key: str, value: Any) -> Path:
        """Add one key to a JSON object already written (e.g. what the run learned after test.json)."""
        data = orjson.loads((self.path / name).read_bytes())
        data[key] = value
        return self.write_json(name, data)

    def write_json(self, name: str, data: Any) -> Path:
        target = self.path / name
        target.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")
        return target
