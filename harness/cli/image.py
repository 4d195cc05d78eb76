"""`harness image`: build (or find cached) the node image and print its tag."""

from __future__ import annotations

import time

import click

from core import kafka_versions
from harness import console
from infra import engine, image


@click.command(name="image")
@click.option("--kafka-version", default=kafka_versions.DEFAULT, show_default=True)
def image_command(kafka_version: str) -> None:
    """Build the offline Kafka node image if it is not cached; print its tag on stdout."""
    image.check_version(kafka_version)  # before the engine: a malformed version is the user's to fix
    started = time.monotonic()
    tag = image.ensure_image(engine.connect(), kafka_version, console.say)
    console.say(f"image {tag} ready in {time.monotonic() - started:.1f} s")
    click.echo(tag)


COMMANDS = [image_command]
