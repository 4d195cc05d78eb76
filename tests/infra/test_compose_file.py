from core.topology import default_topology
from infra.compose_file import write_project


def test_compose_file_carries_labels_capabilities_and_fixed_addresses(tmp_path):
    path = write_project(tmp_path, default_topology(), "img:1", "kj-x", "172.31.252.0/24")
    text = path.read_text()
    assert text.count("cap_add: [NET_ADMIN]") == 6
    assert '"harness.run-id": "kj-x"' in text
    assert "ipv4_address: 172.31.252.12" in text
    props = (tmp_path / "dc2-broker1" / "server.properties").read_text()
    assert "advertised.listeners=PLAINTEXT://172.31.252.14:9092" in props
    assert "broker.rack=dc2" in props


def test_a_cluster_id_never_starts_with_a_dash_which_kafka_storage_would_read_as_an_option():
    from infra.cluster import new_cluster_id

    # 0xf8 encodes to "-" first in urlsafe base64; the next candidate is taken instead.
    candidates = iter([b"\xf8" + bytes(15), b"\x00" * 16])
    assert new_cluster_id(lambda: next(candidates)) == "AAAAAAAAAAAAAAAAAAAAAA"
    assert all(not new_cluster_id().startswith("-") for _ in range(2000))
