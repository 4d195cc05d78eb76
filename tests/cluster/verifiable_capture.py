"""Record Kafka's own VerifiableProducer / VerifiableConsumer against a `harness up` cluster, with a broker
killed in the middle, and keep their stdout as files: the input `harness import verifiable` converts.

Used by the live test (tests/cluster/test_verifiable_import.py) and, run as a script, to refresh the fixtures
the unit tests read (tests/fixtures/verifiable/):

    flock /tmp/harness-cluster.lock timeout 900 .venv/bin/python -m tests.cluster.verifiable_capture \
        tests/fixtures/verifiable

The tools run inside a node container with the image's own jars (`java -cp '/opt/kafka/libs/*' ...`), so what
is captured is exactly what the Kafka release prints. The cluster is removed in a `finally`.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from core import kafka_versions
from core.waiting import wait_until
from infra import engine
from infra.admin import Admin
from infra.cluster import NODE_LABEL, RUN_LABEL

TOPIC = "verifiable"
GROUP = "verifiable-group"
MESSAGES = 150  # per producer: the captured files stay far below 200 KB
RATE = 15  # messages a second per producer: about ten seconds of sending, with the fault in the middle
KEYS = 6  # keyed sends spread over the partitions (null keys stick to one partition)
JAVA = "java -Xmx96m -XX:TieredStopAtLevel=1 -cp '/opt/kafka/libs/*'"
TOOLS = "org.apache.kafka.tools"
# Fewer, larger polls: fewer records_consumed/offsets_committed lines for the same records.
CONSUMER_CONFIG = "fetch.min.bytes=4000\nfetch.max.wait.ms=700\n"


@dataclass(frozen=True)
class Capture:
    run_id: str
    directory: Path
    producers: tuple[Path, ...]
    consumers: tuple[Path, ...]
    drain: Path
    end_offsets: Path
    fault: dict[str, Any]


def harness(*args: str) -> list[str]:
    return [sys.executable, "-m", "harness.cli.main", *args]


class Node:
    """One node container, where the client tools run next to the Kafka JVM."""

    def __init__(self, container: Any) -> None:
        self.container = container

    def sh(self, script: str, timeout_s: int = 60) -> str:
        result = self.container.exec_run(["timeout", str(timeout_s), "sh", "-c", script])
        if result.exit_code != 0:
            raise RuntimeError(f"{script!r} exited {result.exit_code}: {result.output.decode()[-2000:]}")
        return str(result.output.decode())

    def background(self, name: str, command: str) -> None:
        # The shell's pid becomes the JVM's (exec), so the test can stop exactly that process later.
        self.container.exec_run(["sh", "-c", f"echo $$ > /tmp/{name}.pid; exec {command} "
                                             f">/tmp/{name}.jsonl 2>/tmp/{name}.err"], detach=True)

    def lines(self, name: str) -> int:
        return int(self.sh(f"cat /tmp/{name}.jsonl 2>/dev/null | wc -l").strip() or 0)

    def running(self, name: str) -> bool:
        return self.sh(f"[ -f /tmp/{name}.pid ] && kill -0 $(cat /tmp/{name}.pid) 2>/dev/null && echo yes || true"
                       ).strip() == "yes"

    def read(self, name: str, suffix: str = "jsonl") -> bytes:
        return self.sh(f"cat /tmp/{name}.{suffix}").encode()


def capture(directory: Path, image_tag: str) -> Capture:
    directory.mkdir(parents=True, exist_ok=True)
    up = subprocess.run(harness("up", "--image", image_tag), capture_output=True, text=True, timeout=420)
    if up.returncode != 0:
        raise RuntimeError(f"harness up failed: {up.stderr[-3000:]}")
    values = dict(line.split("=", 1) for line in up.stdout.splitlines() if "=" in line)
    run_id, bootstrap = values["run_id"], values["bootstrap_servers"]
    try:
        try:
            return _record(directory, run_id, bootstrap)
        except Exception as error:
            raise RuntimeError(f"{error}\n{_diagnosis(run_id)}") from error
    finally:
        subprocess.run(harness("down", run_id), capture_output=True, text=True, timeout=180)


def _config_flag() -> str:
    """Kafka 4 renamed the consumer's --consumer.config to --command-config, and prints a deprecation line on
    stdout (not JSON) for the old name."""
    return "--command-config" if kafka_versions.major(kafka_versions.DEFAULT) >= 4 else "--consumer.config"


def _record(directory: Path, run_id: str, bootstrap: str) -> Capture:
    client = engine.connect()
    containers = {c.labels[NODE_LABEL]: c for c in client.containers.list(filters={"label": f"{RUN_LABEL}={run_id}"})}
    admin = Admin(bootstrap)
    admin.create_topic(TOPIC, 3, 3, {"min.insync.replicas": "2"})
    admin.wait_fully_replicated(TOPIC, 3, timeout=120)
    # The clients run on a controller's machine: killing a broker's JVM leaves them running.
    tools = Node(containers["dc1-controller1"])
    tools.sh(f"printf '{CONSUMER_CONFIG}' > /tmp/consumer.properties")
    tools.background("c1", f"{JAVA} {TOOLS}.VerifiableConsumer --bootstrap-server {bootstrap} --topic {TOPIC} "
                           f"--group-id {GROUP} --verbose {_config_flag()} /tmp/consumer.properties")
    wait_until(lambda: tools.lines("c1") >= 2, 120, "the consumer to be assigned its partitions")
    for prefix in (1, 2):
        tools.background(f"p{prefix}", f"{JAVA} {TOOLS}.VerifiableProducer --bootstrap-server {bootstrap} "
                                       f"--topic {TOPIC} --max-messages {MESSAGES} --throughput {RATE} "
                                       f"--value-prefix {prefix} --acks -1 --repeating-keys {KEYS}")
    wait_until(lambda: min(tools.lines("p1"), tools.lines("p2")) >= MESSAGES // 3, 120,
               "a third of the sends to be acknowledged before the fault")
    leader = next(p.leader for p in admin.partitions(TOPIC) if p.partition == 0)
    victim = f"dc{leader}-broker1"  # the default topology: broker id k is dc<k>-broker1
    fault: dict[str, Any] = {"nemesis": "kill", "targets": [victim], "start_ms": _now_ms(tools)}
    Node(containers[victim]).sh("/opt/harness/kafka-node kill")
    before = tools.lines("p1") + tools.lines("p2")
    wait_until(lambda: tools.lines("p1") + tools.lines("p2") >= before + 40, 120,
               "forty more sends to complete while the leader of partition 0 is dead")
    Node(containers[victim]).sh("/opt/harness/kafka-node start")
    fault["stop_ms"] = _now_ms(tools)
    wait_until(lambda: not tools.running("p1") and not tools.running("p2"), 180, "both producers to finish")
    admin.wait_fully_replicated(TOPIC, 3, timeout=180)
    _wait_caught_up(tools, "c1")
    tools.sh("kill -TERM $(cat /tmp/c1.pid)")
    wait_until(lambda: not tools.running("c1"), 60, "the consumer to shut down")
    # After every fault healed and every producer finished: the end of each partition, then a fresh group that
    # reads every record from the beginning and stops when it has read them all.
    tools.sh(f"{JAVA} {TOOLS}.GetOffsetShell --bootstrap-server {bootstrap} --topic {TOPIC} --time -1 "
             f">/tmp/end-offsets.txt 2>/tmp/end-offsets.err", timeout_s=90)
    end = tools.read("end-offsets", "txt")
    total = sum(int(line.rsplit(b":", 1)[1]) for line in end.splitlines() if line.strip())
    tools.background("drain", f"{JAVA} {TOOLS}.VerifiableConsumer --bootstrap-server {bootstrap} "
                              f"--topic {TOPIC} --group-id {GROUP}-drain --verbose --max-messages {total}")
    wait_until(lambda: not tools.running("drain"), 180, f"the drain consumer to read all {total} records")
    files = {}
    for name in ("p1", "p2", "c1", "drain"):
        files[name] = directory / f"{name}.jsonl"
        files[name].write_bytes(tools.read(name))
    (directory / "end-offsets.txt").write_bytes(end)
    (directory / "fault.json").write_bytes(orjson.dumps(fault, option=orjson.OPT_INDENT_2) + b"\n")
    return Capture(run_id, directory, (files["p1"], files["p2"]), (files["c1"],), files["drain"],
                   directory / "end-offsets.txt", fault)


def _diagnosis(run_id: str) -> str:
    """What each node's Kafka process and the tools were doing when the capture failed (before teardown)."""
    client = engine.connect()
    parts = []
    for container in client.containers.list(filters={"label": f"{RUN_LABEL}={run_id}"}):
        node = Node(container)
        try:
            parts.append(f"--- {container.labels[NODE_LABEL]}: " + node.sh(
                ". /opt/harness/node.env; /opt/harness/kafka-node status; tail -n 8 \"$LOG_DIR/server.log\"; "
                "for f in /tmp/*.err; do [ -s \"$f\" ] && echo \"$f:\" && tail -n 5 \"$f\"; done; true"))
        except Exception as error:  # noqa: BLE001 - a diagnosis never hides the failure it explains
            parts.append(f"--- {container.labels[NODE_LABEL]}: no diagnosis ({error})")
    return "\n".join(parts)


def _now_ms(node: Node) -> int:
    # The tools' clock: their timestamps are this node's System.currentTimeMillis().
    return int(node.sh("date +%s%3N").strip())


def _wait_caught_up(tools: Node, name: str) -> None:
    """Until the consumer's output stops growing for a moment: it has read what there is to read."""
    seen = {"lines": -1, "quiet": 0}

    def quiet() -> bool:
        now = tools.lines(name)
        seen["quiet"] = seen["quiet"] + 1 if now == seen["lines"] else 0
        seen["lines"] = now
        return seen["quiet"] >= 4

    wait_until(quiet, 120, f"consumer {name} to stop reading", interval=1.0)


if __name__ == "__main__":
    from infra import image

    tag = image.ensure_image(engine.connect())
    done = capture(Path(sys.argv[1]), tag)
    print(f"captured into {done.directory}: fault {done.fault}")
