"""The help a new user reads first: whole summaries, examples, exit codes, where the docs are."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def harness(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness.cli.main", *args], capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "80"}, timeout=60)


def test_the_top_level_help_has_whole_summaries_examples_exit_codes_and_the_docs() -> None:
    result = harness("--help")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    commands = text[text.index("Commands:"):text.index("Examples:")]
    assert "..." not in commands and "…" not in commands, "a command's summary was cut"
    assert "measure RTO, RPO, skips and re-reads." in " ".join(text.split())
    assert "Examples:" in text and "harness run --scenario zombie-leader" in text
    assert "Exit codes:" in text
    flat = " ".join(text.split())
    assert "0 valid" in flat and "1 anomalies found" in flat and "2 could not test" in flat
    assert "docs/" in text and "history-format.md" in text


def test_harness_without_arguments_prints_the_help_not_an_error() -> None:
    result = harness()
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: harness") and "Commands:" in result.stdout
    assert "error" not in result.stderr


@pytest.mark.parametrize("command, example", [
    ("run", "harness run --nemesis kill,partition-dc"),
    ("check", "harness check results/latest/history.jsonl"),
    ("report", "harness report results/latest"),
    ("sweep", "harness sweep --scenarios all --runs 3"),
    ("explore", "harness explore --budget 300 --run-time 40 --seed 1"),
    ("up", "harness up --dcs 2 --brokers-per-dc 2"),
    ("drill", "harness drill --disaster"),
])
def test_the_commands_that_matter_show_examples(command: str, example: str) -> None:
    result = harness(command, "--help")
    assert result.returncode == 0, result.stderr
    assert "Examples:" in result.stdout and example in result.stdout
