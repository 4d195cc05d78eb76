from harness import kafka_config, topology


def addresses(t):
    return {n.name: f"10.0.0.{i + 10}" for i, n in enumerate(t.nodes)}


def test_broker_properties_advertise_its_own_address_rack_and_quorum():
    t = topology.default_topology()
    a = addresses(t)
    broker = t.node("dc2-broker1")
    props = kafka_config.broker_properties(t, broker, a)
    assert props["node.id"] == 2
    assert props["broker.rack"] == "dc2"
    assert props["advertised.listeners"] == f"PLAINTEXT://{a['dc2-broker1']}:9092"
    voters = props["controller.quorum.voters"].split(",")
    assert voters == [f"{c.node_id}@{a[c.name]}:9093" for c in t.controllers]
    assert props["offsets.topic.replication.factor"] == 3


def test_topology_and_dc_overrides_win_over_defaults_in_that_order():
    t = topology.from_dict({
        "broker_config": {"min.insync.replicas": 2, "auto.create.topics.enable": True},
        "dc": [{"name": "a", "broker_config": {"min.insync.replicas": 1}}, {"name": "b", "controllers": 0},
               {"name": "c", "controllers": 2}],
    })
    a = addresses(t)
    props_a = kafka_config.broker_properties(t, t.node("a-broker1"), a)
    props_b = kafka_config.broker_properties(t, t.node("b-broker1"), a)
    assert props_a["min.insync.replicas"] == 1
    assert props_b["min.insync.replicas"] == 2
    assert "auto.create.topics.enable=true\n" in kafka_config.render(props_b)


def test_internal_topics_never_ask_for_more_replicas_than_brokers():
    t = topology.uniform(dcs=1, brokers_per_dc=1, controllers=1)
    props = kafka_config.broker_properties(t, t.brokers[0], addresses(t))
    assert props["offsets.topic.replication.factor"] == 1
    assert props["transaction.state.log.min.isr"] == 1


def test_controller_listens_only_on_the_controller_listener():
    t = topology.default_topology()
    c = t.controllers[0]
    props = kafka_config.controller_properties(t, c, addresses(t))
    assert props["process.roles"] == "controller"
    assert props["listeners"].startswith("CONTROLLER://")
