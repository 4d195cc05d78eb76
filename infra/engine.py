"""The connection to the Docker engine, with one clear line when there is none."""

from __future__ import annotations

from typing import Any

from core.errors import HarnessError


def connect() -> Any:
    import docker
    import docker.errors

    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except docker.errors.DockerException as error:
        reason = str(error).split("(")[0].strip() or "no answer"
        hint = "run `make docker` (installs docker.io and starts dockerd) or start your engine"
        raise HarnessError(f"no Docker engine answers: {reason}", hint=hint) from None
    return client
