"""The Java client driver (`harness run --client java`): its jars, built with Maven against one kafka-clients
release, and the command that runs it on a client machine.

The recipe is package data (infra/compose/driver/: pom.xml.in and the *.java files beside it), laid out as a
Maven project in a temporary directory and built by image.maven_build, the same machinery that resolves the
Kafka jars; the jar set is cached under the harness cache dir by a hash of the rendered POM and the sources.
"""

from __future__ import annotations

import hashlib
import shlex
from pathlib import Path

from core.errors import HarnessError
from infra import image
from infra.assets import compose_dir

PACKAGE_DIR = "src/main/java/org/kafkajepsen/driver"
MAIN_CLASS = "org.kafkajepsen.driver.Driver"
CLIENT_DIR = "/opt/harness/driver"  # on the client machine: libs/, driver.properties
LOG_FILE = "/var/log/kafka/java-client.log"  # collected with the nodes' logs at teardown
# The client is one JVM on a shared small machine: C1 only and the serial collector, as the nodes run.
JVM_OPTS = "-Xms64m -Xmx384m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Dorg.slf4j.simpleLogger.defaultLogLevel=warn"


def render_pom(client_version: str) -> str:
    return (compose_dir("driver") / "pom.xml.in").read_text().replace("@KAFKA_CLIENTS_VERSION@", client_version)


def sources() -> dict[str, bytes]:
    """The driver's Java files, by their path in the Maven project."""
    return {f"{PACKAGE_DIR}/{path.name}": path.read_bytes()
            for path in sorted(compose_dir("driver").glob("*.java"))}


def recipe_hash(client_version: str) -> str:
    h = hashlib.sha256(render_pom(client_version).encode())
    for name, content in sources().items():
        h.update(b"\0" + name.encode() + b"\0" + content)
    return h.hexdigest()[:12]


def driver_libs(client_version: str, say: image.Say = lambda _: None) -> Path:
    """The driver's jar and its runtime dependencies (kafka-clients and what it needs), built once per recipe."""
    image.check_version(client_version, flag="--client-version")
    files: dict[str, str | bytes] = {"pom.xml": render_pom(client_version), **sources()}
    return image.maven_build(
        f"java-driver-{client_version}-{recipe_hash(client_version)}", files, ["package"], "target/libs",
        f"building the Java client driver against kafka-clients {client_version} (Maven)", say,
        hint=f"is {client_version} a released version of org.apache.kafka:kafka-clients?")


def jars(libs: Path) -> list[Path]:
    found = sorted(libs.glob("*.jar"))
    if not any(j.name.startswith("kafka-jepsen-driver") for j in found):
        raise HarnessError(f"{libs} has no driver jar", hint=f"remove {libs.parent} and run again")
    return found


def command(properties_path: str) -> str:
    """The shell command that runs the driver in the foreground: events on stdout, the client's log in LOG_FILE.
    `exec` makes the JVM the process a SIGTERM from `stop_command` reaches."""
    return (f"mkdir -p {shlex.quote(str(Path(LOG_FILE).parent))} && echo $$ > {CLIENT_DIR}/driver.pid && "
            f"exec java {JVM_OPTS} -cp '{CLIENT_DIR}/libs/*' {MAIN_CLASS} {shlex.quote(properties_path)} "
            f"2>>{LOG_FILE}")


def stop_command() -> str:
    """SIGTERM to the driver: its shutdown hook stops new ops and waits (bounded) for outstanding ones."""
    return f"kill -TERM $(cat {CLIENT_DIR}/driver.pid) 2>/dev/null || true"


def kill_command() -> str:
    return f"kill -KILL $(cat {CLIENT_DIR}/driver.pid) 2>/dev/null || true"
