"""What every workload is to the runner: a topic to create, clients to start and stop, a final read.

A workload records its ops through the HistoryRecorder it was given and nothing else; the checker named by
`checker` reads them back.
"""

from __future__ import annotations

from typing import Any, Protocol


class Workload(Protocol):
    name: str
    checker: str  # the checkers workload name: "queue", "txn" or "group"

    def topic_spec(self) -> tuple[str, int, int, dict[str, str]]:
        """(topic, partitions, replication factor, topic config) the runner creates before start."""
        ...

    def start(self) -> None:
        """Start client threads; return at once."""
        ...

    def stop(self, timeout: float | None = None) -> None:
        """Let every client finish its current op and stop."""
        ...

    def drain(self, timeout: float, healed: bool = True) -> bool:
        """After healing: read everything back with fresh clients and record `drain` ops; True if complete.

        `healed` False (the ISR never became full again) makes every drain `info`: the high watermark may then lag
        the log end, and the checker treats an ok drain's high watermark as the end of the log."""
        ...

    def to_json(self) -> dict[str, Any]:
        ...
