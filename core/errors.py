"""The two errors a user's input can cause.

`HarnessError` is a mistake the user can fix (bad flag, topology, input file, missing engine); the CLI prints
it as a single line and exits 2. `HistoryError` is a history that cannot be read. Anything else that escapes
is a bug and keeps its traceback.
"""

from __future__ import annotations


class HarnessError(Exception):
    """A problem the user can fix; `hint` says how."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class HistoryError(ValueError):
    """Unreadable or invalid history; the message is one line and names the line number where it can.

    A ValueError, not a HarnessError: checkers raise it from pure code that knows nothing of the CLI."""


def unknown_name(kind: str, name: str, known: list[str] | tuple[str, ...], listing: str | None = None) -> HarnessError:
    """`unknown nemesis 'partiton-dc' (did you mean partition-dc?)`: the nearest names, not all of them.

    `listing` says where the whole list is (e.g. "`harness nemeses` lists them"); without a close match and
    without a listing, the known names are given."""
    import difflib

    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    listed = listing or "known: " + ", ".join(known)
    hint = f"did you mean {close[0]}? {listing}" if close and listing else (
        f"did you mean {close[0]}?" if close else listed)
    return HarnessError(f"unknown {kind} {name!r}", hint=hint)
