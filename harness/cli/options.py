"""Options shared by `run` and `up`: where the cluster comes from (topology, image, Kafka version)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from core import kafka_versions, topology
from core.errors import HarnessError

F = Callable[..., Any]


def cluster_options(command: F) -> F:
    for option in reversed([
        click.option("--topology", "topology_file", metavar="NAME|FILE",
                     help="A preset (" + ", ".join(topology.presets()) + ") or a TOML file describing DCs, "
                     "brokers, controllers, WAN and Kafka settings (docs/topologies.md)."),
        click.option("--dcs", type=int, help="Number of datacenters (default 3)."),
        click.option("--brokers-per-dc", type=int, help="Brokers in each DC (default 1)."),
        click.option("--controllers", type=int, help="KRaft controllers in total, spread over the DCs (default 3)."),
        click.option("--mode", type=click.Choice(topology.MODES), help="kraft (default), or zookeeper: ZooKeeper "
                     "servers in place of the controllers, the controller elected through ZooKeeper (Kafka < 4)."),
        click.option("--kafka-version", metavar="X.Y.Z",
                     help=f"Kafka release whose jars the image is built from (Maven Central; default "
                     f"{kafka_versions.DEFAULT}, a ZooKeeper scenario's own 3.9.x). ZooKeeper mode needs 3.x."),
        click.option("--image", "image_tag", help="Use this local image instead of building one "
                     "(e.g. apache/kafka:3.9.1 loaded into your engine)."),
    ]):
        command = option(command)
    return command


def cluster_version(kafka_version: str | None, topo: topology.Topology, given: str | None) -> str:
    """The release the image is built from: the flag's or the default, checked against the topology's mode.
    `given`: the user's own image or machines; the runner checks an image of ours by its label when it is used."""
    version = kafka_versions.check(kafka_version or kafka_versions.DEFAULT)
    if given is None:
        kafka_versions.check_mode(version, topo.mode, topo.kraft_voters)
    return version


def resolve_topology(topology_file: str | None, dcs: int | None, brokers_per_dc: int | None,
                     controllers: int | None, mode: str | None = None) -> topology.Topology:
    if topology_file:
        if dcs is not None or brokers_per_dc is not None or controllers is not None:
            raise HarnessError("--topology cannot be combined with --dcs, --brokers-per-dc or --controllers",
                               hint="put the counts in the topology file")
        loaded = topology.resolve(topology_file)
        if mode is not None and mode != loaded.mode:
            raise HarnessError(f"--mode {mode} contradicts mode = {loaded.mode!r} in {topology_file}",
                               hint="set `mode` in the topology file")
        return loaded
    if dcs is None and brokers_per_dc is None and controllers is None and mode in (None, "kraft"):
        return topology.default_topology()
    # `is None`, not `or`: --dcs 0 is a mistake to refuse, not a request for the default
    return topology.uniform(3 if dcs is None else dcs, 1 if brokers_per_dc is None else brokers_per_dc,
                            3 if controllers is None else controllers, mode=mode or "kraft")


def given_flags(ctx: click.Context, names: tuple[str, ...] | list[str]) -> list[str]:
    """Which of these parameters the user set (command line or environment), as flags: `--acks`."""
    given = []
    for name in names:
        source = ctx.get_parameter_source(name)
        if source is not None and source not in (click.core.ParameterSource.DEFAULT,
                                                 click.core.ParameterSource.DEFAULT_MAP):
            param = next(p for p in ctx.command.params if p.name == name)
            given.append(param.opts[0] if param.opts else name)
    return given
