import pytest

from infra import engine, image
from infra.cluster import RUN_LABEL


@pytest.fixture(scope="session")
def docker_client():
    return engine.connect()


@pytest.fixture(scope="session")
def node_image(docker_client):
    return image.ensure_image(docker_client)


def labelled_leftovers(client, run_id):
    selector = {"label": f"{RUN_LABEL}={run_id}"}
    return client.containers.list(all=True, filters=selector) + client.networks.list(filters=selector)
