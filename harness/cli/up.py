"""`harness up` / `harness down`: the same cluster as a test uses, left running for manual poking."""

from __future__ import annotations

import click

from harness import console
from harness.cli.options import cluster_options, cluster_version, resolve_topology
from infra import engine, image
from infra.admin import Admin
from infra.cluster import Cluster, new_run_id, remove_by_label


@click.command(epilog="""\b
Examples:
  harness up                                 the default 3-DC cluster
  harness up --dcs 2 --brokers-per-dc 2 --controllers 3
  harness up --topology active-active        one cluster per DC, MirrorMaker 2 between
  harness up --mode zookeeper                ZooKeeper instead of KRaft (Kafka 3.x)
  harness down RUN_ID                        remove it again""")
@cluster_options
@click.option("--wait/--no-wait", default=True, show_default=True, help="Wait until every broker registered.")
def up(topology_file: str | None, dcs: int | None, brokers_per_dc: int | None, controllers: int | None,
       mode: str | None, kafka_version: str | None, image_tag: str | None, wait: bool) -> None:
    """Start a cluster and leave it running; prints the run id and the bootstrap servers on stdout."""
    topo = resolve_topology(topology_file, dcs, brokers_per_dc, controllers, mode)
    version = cluster_version(kafka_version, topo, image_tag)
    client = engine.connect()
    tag = image_tag or image.ensure_image(client, version, console.say)
    cluster = Cluster(client, topo, tag, new_run_id(), console.say)
    try:
        cluster.start()
        if wait:
            Admin(cluster.bootstrap_servers).wait_brokers({b.node_id for b in topo.brokers}, timeout=120)
    except BaseException:
        cluster.teardown()
        raise
    console.say(f"cluster {cluster.run_id} is up; stop it with `harness down {cluster.run_id}`")
    for node in topo.nodes:
        console.plain(f"  {node.name:18} {node.role:10} {cluster.addresses[node.name]}")
    click.echo(f"run_id={cluster.run_id}")
    click.echo(f"bootstrap_servers={cluster.bootstrap_servers}")


@click.command()
@click.argument("run_id")
def down(run_id: str) -> None:
    """Remove the cluster `harness up` started."""
    containers, networks = remove_by_label(engine.connect(), run_id)
    console.say(f"removed {containers} containers and {networks} networks of {run_id}")


COMMANDS = [up, down]


@click.command(name="compose")
@click.argument("directory", type=click.Path(file_okay=False))
@cluster_options
@click.option("--subnet", default="172.31.250.0/24", show_default=True, help="Subnet of the compose network.")
def compose_command(directory: str, topology_file: str | None, dcs: int | None, brokers_per_dc: int | None,
                    controllers: int | None, mode: str | None, kafka_version: str | None, image_tag: str | None,
                    subnet: str) -> None:
    """Write a docker-compose project of the same topology to DIRECTORY (run it with `docker-compose up -d`)."""
    from pathlib import Path

    from infra.compose_file import write_project

    topo = resolve_topology(topology_file, dcs, brokers_per_dc, controllers, mode)
    tag = image_tag or image.kafka_tag(cluster_version(kafka_version, topo, image_tag))
    run_id = new_run_id()
    path = write_project(Path(directory), topo, tag, run_id, subnet)
    console.say(f"wrote {path} (run id {run_id}); start it with `docker-compose -f {path} up -d`")
    if not image_tag and not image.image_exists(engine.connect(), tag):
        console.say(f"[yellow]note:[/yellow] image {tag} is not built yet: run `harness image` first")
    click.echo(str(path))


COMMANDS.append(compose_command)
