"""Where the files the harness ships beside its code live: the image recipe and the node script.

They are package data of `infra` (infra/compose/), found through importlib.resources so a wheel install finds
them as an editable one does. Docker and bash need real paths, and pip installs packages unpacked, so the
resource is a directory on disk; anything else is a broken install, said in one line.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from core.errors import HarnessError


def compose_dir(*parts: str) -> Path:
    """infra/compose/<parts...> as a path on disk."""
    resource = files("infra").joinpath("compose", *parts)
    path = Path(str(resource))
    if not path.exists():
        raise HarnessError(f"the installed harness has no {'/'.join(('compose', *parts))}",
                           hint="reinstall kafka-jepsen (pip install .); its package data is missing")
    return path
