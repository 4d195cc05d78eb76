"""All human output goes through here, to stderr; stdout is for JSON a machine reads."""

from __future__ import annotations

import time

from rich.console import Console

from harness.results import NO_FAULT_INJECTED

_console = Console(stderr=True, highlight=False)
_t0 = time.monotonic()


def say(message: str) -> None:
    _console.print(f"[dim]{time.monotonic() - _t0:7.1f}s[/dim] {message}", markup=True, soft_wrap=True)


def verdict_line(valid: bool | str, results_path: str) -> None:
    words = {True: ("VALID", "green"), False: ("INVALID", "red"), NO_FAULT_INJECTED: ("NO FAULT INJECTED", "yellow")}
    word, colour = words.get(valid, ("UNKNOWN", "yellow"))  # type: ignore[call-overload]
    _console.print(f"[bold {colour}]verdict: {word}[/bold {colour}]  results: {results_path}")


def plain(message: str) -> None:
    _console.print(message, markup=False, highlight=False, soft_wrap=True)
