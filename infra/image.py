"""The node image, built offline and cached by content hash.

Two layers: a Debian base made with debootstrap from the mirror apt already uses (JRE + the tools nemeses
need), and the Kafka jars of one release resolved from Maven Central. Each tag carries the hash of the recipe
that made it, so a second build with the same recipe is a no-op and a changed recipe never reuses a stale image.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.errors import HarnessError
from infra.assets import compose_dir

DEBIAN_SUITE = "bookworm"
DEFAULT_KAFKA_VERSION = "3.9.1"
_VERSION = re.compile(r"^\d+\.\d+\.\d+$")
Say = Callable[[str], None]


def cache_dir() -> Path:
    root = os.environ.get("HARNESS_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "kafka-jepsen")
    return Path(root)


def _digest(*parts: bytes | str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode() if isinstance(part, str) else part)
        h.update(b"\0")
    return h.hexdigest()[:12]


def base_tag() -> str:
    recipe = compose_dir("base")
    return f"harness-base:{DEBIAN_SUITE}-" + _digest(
        DEBIAN_SUITE, (recipe / "build-base.sh").read_bytes(), (recipe / "packages.txt").read_bytes())


def kafka_tag(kafka_version: str) -> str:
    recipe = compose_dir("kafka")
    return f"harness-kafka:{kafka_version}-" + _digest(
        base_tag(), kafka_version, (recipe / "Dockerfile").read_bytes(), render_pom(kafka_version))


def render_pom(kafka_version: str) -> str:
    # Kafka 3.x logs through reload4j (a runtime dependency of the broker); 4.x moved to log4j 2, whose
    # implementation the broker's POM leaves to the distribution, so we add it.
    extra = ""
    if int(kafka_version.split(".")[0]) >= 4:
        extra = "\n".join(
            f"    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>{a}</artifactId>"
            f"<version>2.24.3</version></dependency>"
            for a in ("log4j-core", "log4j-slf4j2-impl")
        ) + ("\n    <dependency><groupId>com.fasterxml.jackson.dataformat</groupId>"
             "<artifactId>jackson-dataformat-yaml</artifactId><version>2.16.2</version></dependency>")
    template = (compose_dir("kafka") / "pom.xml.in").read_text()
    return template.replace("@KAFKA_VERSION@", kafka_version).replace("@EXTRA_DEPENDENCIES@", extra)


def debian_mirror() -> str:
    """The Debian mirror apt already uses on this machine (debootstrap must use the same one)."""
    override = os.environ.get("HARNESS_DEBIAN_MIRROR")
    if override:
        return override
    candidates: list[str] = []
    apt = Path("/etc/apt")
    for source in [apt / "sources.list", *sorted((apt / "sources.list.d").glob("*"))]:
        try:
            text = source.read_text()
        except OSError:
            continue
        candidates += re.findall(r"^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+" + DEBIAN_SUITE + r"\s", text, re.M)
        for stanza in text.split("\n\n"):
            if re.search(r"^Suites:.*\b" + DEBIAN_SUITE + r"\b(?!-)", stanza, re.M):
                candidates += re.findall(r"^URIs:\s*(\S+)", stanza, re.M)
    for uri in candidates:
        if "security" not in uri:
            return uri.rstrip("/")
    return "http://deb.debian.org/debian"


def image_exists(client: Any, tag: str) -> bool:
    import docker.errors

    try:
        client.images.get(tag)
        return True
    except docker.errors.ImageNotFound:
        return False


def check_version(kafka_version: str, flag: str = "--kafka-version") -> str:
    if not _VERSION.match(kafka_version):
        raise HarnessError(f"{flag} {kafka_version!r} is not a release number", hint="e.g. 3.9.1 or 4.1.0")
    return kafka_version


def ensure_image(client: Any, kafka_version: str = DEFAULT_KAFKA_VERSION, say: Say = lambda _: None) -> str:
    """Return the tag of a local node image for this Kafka version, building only what is missing."""
    check_version(kafka_version)
    tag = kafka_tag(kafka_version)
    if image_exists(client, tag):
        return tag
    base = base_tag()
    if not image_exists(client, base):
        say(f"building base image {base} with debootstrap (about a minute)")
        _run(["bash", str(compose_dir("base") / "build-base.sh"), base, DEBIAN_SUITE, debian_mirror()],
             "debootstrap base image")
    libs = kafka_libs(kafka_version, say)
    say(f"building {tag}")
    with tempfile.TemporaryDirectory(prefix="harness-image-") as context:
        shutil.copy(compose_dir("kafka") / "Dockerfile", context)
        shutil.copytree(libs, Path(context) / "libs")
        try:
            client.images.build(path=context, tag=tag, buildargs={"BASE": base}, rm=True, forcerm=True,
                                labels={"org.kafka-jepsen.kafka-version": kafka_version})
        except Exception as error:  # docker.errors.BuildError / APIError carry the build log
            raise HarnessError(f"building image {tag} failed: {error}") from None
    return tag


def kafka_libs(kafka_version: str, say: Say = lambda _: None) -> Path:
    """The jars of one Kafka release, resolved from Maven Central once and cached."""
    # Keyed by the rendered POM too: a recipe that adds an artifact must not reuse an older jar set.
    pom = render_pom(kafka_version)
    pom_hash = hashlib.sha256(pom.encode()).hexdigest()[:12]
    return maven_build(f"kafka-{kafka_version}-{pom_hash}", {"pom.xml": pom},
                       ["dependency:copy-dependencies", "-DincludeScope=runtime", "-DoutputDirectory=libs"], "libs",
                       f"resolving Kafka {kafka_version} jars from Maven Central", say,
                       hint=f"is {kafka_version} a released version of org.apache.kafka:kafka_2.13?")


def maven_build(key: str, files: dict[str, str | bytes], goals: list[str], output: str, what: str,
                say: Say = lambda _: None, hint: str | None = None) -> Path:
    """Run Maven once on a project made of `files` (path -> content) and keep its `output` directory under
    cache_dir()/<key>/<output>; `key` must change whenever the files do. Maven's own ~/.m2 caches the downloads.
    A second call with the same key returns the cached directory without running Maven."""
    target = cache_dir() / key / output
    if (target / ".complete").exists():
        return target
    if shutil.which("mvn") is None:
        raise HarnessError(f"Maven (mvn) is needed for {what}", hint="apt-get install maven")
    say(what)
    cache_dir().mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="harness-maven-", dir=cache_dir()))
    try:
        for name, content in files.items():
            path = work / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content.encode() if isinstance(content, str) else content)
        _run(["mvn", "-q", "-B", "-f", str(work / "pom.xml"), *goals], what, hint=hint, cwd=work)
        (work / output / ".complete").touch()
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(target, ignore_errors=True)
        (work / output).rename(target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def _run(command: list[str], what: str, hint: str | None = None, cwd: Path | None = None) -> None:
    result = subprocess.run(command, capture_output=True, text=True, cwd=cwd)
    if result.returncode != 0:
        # Maven colours its output even with -B; the first ERROR/FATAL line says what failed, the later ones
        # point to help pages.
        text = re.sub(r"\x1b\[[0-9;]*m", "", result.stderr.strip() or result.stdout.strip())
        lines = [line for line in text.splitlines() if line.strip()]
        last = next((line for line in lines if re.search(r"ERROR|FATAL", line) and len(line.strip()) > 20),
                    lines[-1] if lines else "no output")
        raise HarnessError(f"{what} failed: {last.strip()[:300]}", hint=hint)
