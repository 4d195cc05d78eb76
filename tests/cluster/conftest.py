"""Which Kafka a real-cluster test runs: the default release (core/kafka_versions.py, a 4.x) unless it needs
another one; ZooKeeper-mode tests run the release ZooKeeper scenarios pin (a 3.9.x)."""

import pytest

from core import kafka_versions
from infra import engine, image
from infra.cluster import RUN_LABEL


@pytest.fixture(scope="session")
def docker_client():
    return engine.connect()


@pytest.fixture(scope="session")
def image_for(docker_client):
    """The node image of one Kafka release, built once per session (cached by recipe hash across sessions)."""
    return lambda version: image.ensure_image(docker_client, version)


@pytest.fixture(scope="session")
def node_image(image_for):
    return image_for(kafka_versions.DEFAULT)


@pytest.fixture(scope="session")
def zookeeper_image(image_for):
    return image_for(kafka_versions.ZOOKEEPER_RELEASE)


def labelled_leftovers(client, run_id):
    selector = {"label": f"{RUN_LABEL}={run_id}"}
    return client.containers.list(all=True, filters=selector) + client.networks.list(filters=selector)
