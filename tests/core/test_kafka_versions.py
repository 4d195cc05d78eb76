"""The default Kafka release and what a release can do: ZooKeeper mode up to 3.x, KRaft only from 4.0."""

import pytest

from core import kafka_versions
from core.errors import HarnessError


def test_the_newest_4x_has_no_zookeeper_and_the_zookeeper_pin_has_it():
    assert kafka_versions.major(kafka_versions.NEWEST_4X) == 4
    assert not kafka_versions.has_zookeeper(kafka_versions.NEWEST_4X)
    assert kafka_versions.has_zookeeper(kafka_versions.ZOOKEEPER_RELEASE)


@pytest.mark.parametrize("version", ["3.9.1", "3.9.0", "4.0.0", "4.3.1", "4.4.0"])
def test_any_3x_or_4x_release_number_is_accepted(version):
    assert kafka_versions.check(version) == version


@pytest.mark.parametrize("version", ["latest", "4.0", "4.0.0-rc1", ""])
def test_a_version_that_is_not_a_release_number_is_refused(version):
    with pytest.raises(HarnessError, match="is not a release number"):
        kafka_versions.check(version)


def test_zookeeper_mode_is_refused_on_4x_with_a_hint_naming_a_3x_release():
    with pytest.raises(HarnessError, match="Kafka 4.0.0 has no ZooKeeper mode") as refused:
        kafka_versions.check_mode("4.0.0", "zookeeper")
    assert kafka_versions.ZOOKEEPER_RELEASE in (refused.value.hint or "")
    kafka_versions.check_mode("3.9.1", "zookeeper")
    kafka_versions.check_mode("4.0.0", "kraft")


def test_a_version_list_keeps_its_order_and_refuses_repeats_and_bad_entries():
    assert kafka_versions.parse_list("3.9.1, 4.0.0,4.3.1") == ("3.9.1", "4.0.0", "4.3.1")
    with pytest.raises(HarnessError, match="given twice"):
        kafka_versions.parse_list("4.0.0,4.0.0")
    with pytest.raises(HarnessError, match="not a release number"):
        kafka_versions.parse_list("3.9.1,four")
    with pytest.raises(HarnessError, match="at least one"):
        kafka_versions.parse_list(" , ")
