"""The image recipe per Kafka release: what 4.x needs for logging, and a failed resolution said in one line."""

import re

from infra import image


def dependencies(pom: str) -> dict[str, str]:
    return dict(re.findall(r"<artifactId>([^<]+)</artifactId><version>([^<]+)</version>", pom))


def test_a_3x_image_adds_nothing_to_the_brokers_own_dependencies():
    deps = dependencies(image.render_pom("3.9.1"))
    assert deps["kafka_2.13"] == "3.9.1"
    assert not any(name.startswith("log4j") for name in deps)


def test_a_4x_image_binds_slf4j_1_to_log4j2_with_one_version_for_api_core_and_binding():
    # Kafka 4 declares slf4j-api 1.7 and no binding; log4j-slf4j2-impl would bind nothing and every logger
    # would be a no-op (server.log empty), and a log4j-api of one release with the core of another breaks.
    deps = dependencies(image.render_pom("4.3.1"))
    assert deps["kafka_2.13"] == deps["connect-mirror"] == "4.3.1"
    assert {deps[a] for a in ("log4j-api", "log4j-core", "log4j-slf4j-impl")} == {image.LOG4J2_VERSION}
    assert "log4j-slf4j2-impl" not in deps
    assert "jackson-dataformat-yaml" not in deps, "the broker brings it at its own Jackson version"


def test_each_release_has_its_own_image_tag():
    assert image.kafka_tag("3.9.1") != image.kafka_tag("4.3.1")
    assert image.kafka_tag("4.3.1").startswith("harness-kafka:4.3.1-")


MAVEN_UNRESOLVED = (
    "\x1b[0m[ERROR] Failed to execute goal on project kafka-libs: Could not resolve dependencies for project "
    "org.kafka-jepsen:kafka-libs:pom:1: The following artifacts could not be resolved: "
    "org.apache.kafka:connect-mirror:jar:4.4.0, org.apache.kafka:connect-mirror-client:jar:4.4.0: "
    "org.apache.kafka:connect-mirror:jar:4.4.0 was not found in https://repo.maven.apache.org/maven2 -> [Help 1]\n"
    "[ERROR] \n[ERROR] To see the full stack trace of the errors, re-run Maven with the -e switch.\n"
    "[ERROR] [Help 1] http://cwiki.apache.org/confluence/display/MAVEN/DependencyResolutionException\n")


def test_a_failed_resolution_names_the_artifacts_maven_could_not_find():
    assert image.failure_line(MAVEN_UNRESOLVED) == (
        "not on Maven Central: org.apache.kafka:connect-mirror:jar:4.4.0, "
        "org.apache.kafka:connect-mirror-client:jar:4.4.0")


def test_another_failure_says_its_first_error_line_or_its_last_line():
    assert image.failure_line("[ERROR] \n[ERROR] Network is unreachable\n[ERROR] re-run with -e\n") == \
        "Network is unreachable"
    assert image.failure_line("E: Unable to locate package foo\n\n") == "E: Unable to locate package foo"
    assert image.failure_line("") == "no output"

