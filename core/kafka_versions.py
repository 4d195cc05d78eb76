"""Which Kafka release a run uses, and what a release can do: the one home of the default version.

NEWEST_4X is the newest 4.x whose every artifact the node image needs (the broker, its tools and MirrorMaker 2)
resolves from Maven Central here: checked with `mvn dependency:get` for 4.4.0, 4.3.1, 4.3.0 ... on the day it
was pinned. 4.4.0's broker resolves but its connect-mirror and connect-mirror-client do not, so the image of
4.4.0 cannot be built yet (see benchmarks/README.md). Kafka 4 removed ZooKeeper mode: a ZooKeeper topology
needs a 3.x release, and a ZooKeeper scenario pins one in its TOML (`kafka_version`).
"""

from __future__ import annotations

import re

from core.errors import HarnessError

NEWEST_4X = "4.3.1"  # the newest 4.x whose broker, tools and MirrorMaker 2 all resolve here (4.4.0's mirror does not)
DEFAULT = NEWEST_4X  # what every run uses unless --kafka-version (or a scenario's pin) says otherwise
ZOOKEEPER_RELEASE = "3.9.1"  # the newest release with ZooKeeper mode: what a ZooKeeper scenario pins
_RELEASE = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")


def check(version: str, what: str = "--kafka-version") -> str:
    if not _RELEASE.match(version):
        raise HarnessError(f"{what} {version!r} is not a release number", hint=f"e.g. {ZOOKEEPER_RELEASE} or {DEFAULT}")
    return version


def major(version: str) -> int:
    return int(check(version).split(".")[0])


def has_zookeeper(version: str) -> bool:
    """ZooKeeper mode exists up to 3.x; Kafka 4.0 is KRaft only (KIP-833)."""
    return major(version) < 4


def has_consumer_protocol(version: str) -> bool:
    """KIP-848's consumer group protocol is generally available, and on by default, from Kafka 4.0 (3.7-3.9
    had it as early access behind a broker flag, which the harness does not set)."""
    return major(version) >= 4


def has_dynamic_quorum(version: str) -> bool:
    """KIP-853's dynamic KRaft quorum (kraft.version 1, `--initial-controllers`, add/remove-controller): 3.9+."""
    major_, minor = (int(part) for part in check(version).split(".")[:2])
    return (major_, minor) >= (3, 9)


def check_mode(version: str, mode: str, kraft_voters: str = "static") -> None:
    """A ZooKeeper topology on a KRaft-only release, or a dynamic quorum on a release without one, is refused
    before anything starts."""
    if mode == "zookeeper" and not has_zookeeper(version):
        raise HarnessError(f"Kafka {version} has no ZooKeeper mode (Kafka 4 is KRaft only)",
                           hint=f"--kafka-version {ZOOKEEPER_RELEASE} for ZooKeeper mode, or --mode kraft")
    if kraft_voters == "dynamic" and not has_dynamic_quorum(version):
        raise HarnessError(f"Kafka {version} has no dynamic KRaft quorum (KIP-853 came in 3.9)",
                           hint="--kafka-version 3.9.1 or newer, or kraft_voters = \"static\"")


def parse_list(text: str, what: str = "--kafka-versions") -> tuple[str, ...]:
    """`3.9.1,4.0.0,4.3.1` -> each checked now, not mid-sweep; order kept, repeats refused."""
    versions = tuple(v.strip() for v in text.split(",") if v.strip())
    if not versions:
        raise HarnessError(f"{what} needs at least one version", hint=f"e.g. {ZOOKEEPER_RELEASE},4.0.0,{DEFAULT}")
    for version in versions:
        check(version, what)
    repeated = sorted({v for v in versions if versions.count(v) > 1})
    if repeated:
        raise HarnessError(f"{what}: {repeated[0]} given twice")
    return versions
