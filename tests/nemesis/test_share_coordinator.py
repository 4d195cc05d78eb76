"""Which `__share_group_state` partition keeps a share-partition's state: the vectors are Kafka 4.3.1's own
(SharePartitionKey.asCoordinatorKey and String.hashCode, computed with jshell on its jars)."""

from __future__ import annotations

from nemesis.targets import java_string_hash, share_state_partition

TOPIC_ID = "EjRWeJCrze8P7cuph2VDIQ"  # Uuid(0x1234567890abcdef, 0x0fedcba987654321).toString()


def test_the_state_partition_is_kafkas() -> None:
    assert share_state_partition("harness-abc-share", TOPIC_ID, 2, 50) == 17
    assert share_state_partition("g", TOPIC_ID, 0, 50) == 45


def test_java_hash_overflows_like_java() -> None:
    assert java_string_hash("harness-abc-share:" + TOPIC_ID + ":2") == 715967267
    assert java_string_hash("g:" + TOPIC_ID + ":0") == -1412440495
    assert java_string_hash("") == 0
    assert java_string_hash("é") == 233  # one UTF-16 unit, not two UTF-8 bytes
