"""INFO parsing on the verbatim Dragonfly payloads (service-facts §3.1) and captured Redis 7.0 output."""

from __future__ import annotations

from checks.parsers import parse_info

DRAGONFLY_MEMORY_1_25_4 = """\
# Memory
used_memory:736326864
used_memory_human:702.22MiB
used_memory_peak:736735664
used_memory_peak_human:702.61MiB
fibers_stack_vms:20961280
fibers_count:640
used_memory_rss:875552768
used_memory_rss_human:834.99MiB
used_memory_peak_rss:929742848
maxmemory:8589934592
maxmemory_human:8.00GiB
used_memory_lua:0
object_used_memory:214915592
type_used_memory_string:10424880
type_used_memory_list:147160
type_used_memory_zset:186432
type_used_memory_hash:204157120
table_used_memory:82123904
num_buckets:88380
num_entries:647430
inline_keys:225
listpack_blobs:18446744073709551056
listpack_bytes:864678
small_string_bytes:10424880
pipeline_cache_bytes:1189037
dispatch_queue_bytes:0
dispatch_queue_subscriber_bytes:0
dispatch_queue_peak_bytes:937176
client_read_buffer_peak_bytes:212736
tls_bytes:3033496
snapshot_serialization_bytes:0
cache_mode:cache
maxmemory_policy:eviction
replication_streaming_buffer_bytes:0
replication_full_sync_buffer_bytes:0
""".replace("\n", "\r\n")
DRAGONFLY_SERVER_1_21_2 = """\
# Server
redis_version:6.2.11
dragonfly_version:df-v1.21.2
redis_mode:standalone
arch_bits:64
os:Linux 6.1.100+ x86_64
multiplexing_api:iouring
tcp_port:6379
thread_count:4
uptime_in_seconds:9140967
uptime_in_days:105
""".replace("\n", "\r\n")
# captured from redis-server 7.0.15 (INFO, lines trimmed to the fields used)
REDIS_7_0_15 = ("# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\ntcp_port:0\r\nuptime_in_seconds:0\r\n"
                "io_threads_active:0\r\n# Clients\r\nconnected_clients:1\r\nmaxclients:10000\r\n# Memory\r\n"
                "used_memory:941936\r\nused_memory_human:919.86K\r\nused_memory_rss:6606848\r\n"
                "used_memory_peak:941936\r\nmaxmemory:0\r\nmaxmemory_policy:noeviction\r\n"
                "mem_fragmentation_ratio:7.54\r\nmem_allocator:jemalloc-5.3.0\r\n# Persistence\r\n# Stats\r\n"
                "evicted_keys:0\r\n# Replication\r\nrole:master\r\nconnected_slaves:0\r\n# CPU\r\n# Modules\r\n"
                "# Errorstats\r\n# Cluster\r\n# Keyspace\r\ndb0:keys=2,expires=1,avg_ttl=0")


def test_dragonfly_memory_and_server() -> None:
    info = parse_info(DRAGONFLY_SERVER_1_21_2 + "\r\n" + DRAGONFLY_MEMORY_1_25_4)
    assert info.flavor == "dragonfly" and info.version == "1.21.2" and info.redis_version == "6.2.11"
    assert info.used_memory == 736326864 and info.used_memory_peak == 736735664
    assert info.used_memory_rss == 875552768 and info.maxmemory == 8589934592
    assert info.cache_mode == "cache" and info.maxmemory_policy == "eviction"
    assert info.thread_count == 4 and info.uptime_s == 9140967
    assert info.role is None and info.evicted_keys is None and info.max_clients is None
    assert info.fields["listpack_blobs"] == "18446744073709551056"
    assert "mem_fragmentation_ratio" not in info.fields
    assert abs(info.memory_used_ratio - 736326864 / 8589934592) < 1e-9


def test_dragonfly_memory_alone_is_redis_flavoured() -> None:
    info = parse_info(DRAGONFLY_MEMORY_1_25_4)  # no Server section: cannot tell
    assert info.flavor == "redis" and info.cache_mode == "cache"


def test_old_dfly_version_and_replica_roles() -> None:
    info = parse_info("dfly_version:v0.9.1\nrole:slave\nmaster_link_status:up\n")
    assert info.flavor == "dragonfly" and info.version == "0.9.1" and info.role == "replica"
    assert parse_info("role:replica").role == "replica" and parse_info("role:master").role == "master"


def test_redis_7_0_captured() -> None:
    info = parse_info(REDIS_7_0_15)
    assert info.flavor == "redis" and info.version == "7.0.15" and info.role == "master"
    assert info.maxmemory == 0 and info.memory_used_ratio is None and info.max_clients == 10000
    assert info.cache_mode is None and info.thread_count is None and info.evicted_keys == 0
    assert info.keyspace == {"db0": {"keys": 2, "expires": 1, "avg_ttl": 0}}


def test_redis_py_dict_form() -> None:
    parsed = {"redis_version": "7.0.15", "used_memory": 941936, "maxmemory": 0, "role": "master",
              "db0": {"keys": 2, "expires": 1, "avg_ttl": 0}, "maxclients": 10000}
    info = parse_info(parsed)
    assert info.used_memory == 941936 and info.keyspace["db0"]["keys"] == 2 and info.max_clients == 10000
    df = parse_info({b"dragonfly_version": b"df-v1.25.4", "maxmemory": "1e3"})
    assert df.flavor == "dragonfly" and df.version == "1.25.4" and df.maxmemory == 1000


def test_garbage_values() -> None:
    info = parse_info("used_memory:lots\nmaxmemory:\nnot a field\n:empty\nuptime_in_seconds:nan\n")
    assert info.used_memory is None and info.maxmemory is None and info.uptime_s is None
    assert parse_info(None).version == "" and parse_info(b"\xff\xfe").flavor == "redis"
