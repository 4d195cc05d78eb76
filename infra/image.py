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

from core import kafka_versions
from core.errors import HarnessError
from infra.assets import compose_dir

DEBIAN_SUITE = "bookworm"
DEFAULT_KAFKA_VERSION = kafka_versions.DEFAULT  # pinned there, read here (the image of `harness image`)
# Kafka 4.x logs through slf4j 1.x into log4j 2 and leaves both the log4j 2 implementation and its slf4j binding
# to the distribution. One version for the three jars: a log4j-api of one release with the core of another fails.
LOG4J2_VERSION = "2.24.3"
LOG4J2_ARTIFACTS = ("log4j-api", "log4j-core", "log4j-slf4j-impl")
VERSION_LABEL = "org.kafka-jepsen.kafka-version"
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
    # Kafka 3.x logs through reload4j (a runtime dependency of the broker). 4.x declares slf4j-api 1.7 and,
    # from some releases on, log4j-core, but no binding between them: without log4j-slf4j-impl (the binding for
    # slf4j 1.x; log4j-slf4j2-impl binds only slf4j 2) every logger is a no-op and server.log stays empty.
    # jackson-dataformat-yaml (log4j2.yaml) comes with the broker in 4.x, at the broker's own Jackson version.
    extra = ""
    if kafka_versions.major(kafka_version) >= 4:
        extra = "\n".join(
            f"    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>{artifact}</artifactId>"
            f"<version>{LOG4J2_VERSION}</version></dependency>"
            for artifact in LOG4J2_ARTIFACTS)
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


def labelled_version(client: Any, tag: str) -> str | None:
    """The Kafka release an image of ours was built from (its label); None for anyone else's image."""
    import docker.errors

    try:
        labels = client.images.get(tag).labels or {}
    except docker.errors.ImageNotFound:
        return None
    return labels.get(VERSION_LABEL)


def check_version(kafka_version: str, flag: str = "--kafka-version") -> str:
    return kafka_versions.check(kafka_version, flag)


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
                                labels={VERSION_LABEL: kafka_version})
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
        raise HarnessError(f"{what} failed: {failure_line(result.stderr + result.stdout)}", hint=hint)


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_UNRESOLVED = re.compile(r"could not be resolved: (.*?): ", re.I)  # coordinates hold ":" but never ": "


def failure_line(output: str) -> str:
    """The line of a failed build that says why: Maven's first non-empty [ERROR] (its later ones are advice on
    -e and -X), shortened to the artifacts it could not resolve when that is the reason."""
    lines = [_ANSI.sub("", line).strip() for line in output.splitlines()]
    errors = [line.removeprefix("[ERROR]").strip() for line in lines if line.startswith("[ERROR]")]
    chosen = next((line for line in errors if line), None) or next((line for line in reversed(lines) if line), "")
    unresolved = _UNRESOLVED.search(chosen)
    if unresolved:
        return f"not on Maven Central: {unresolved.group(1)}"
    return chosen[:300] or "no output"
