"""AgeBased with an injected clock: no sleeps."""

from vizcache import AgeBased, Cache

from .conftest import MiB


def make(memory, clock, **params):
    return Cache(AgeBased(**params), rss_probe=memory.rss, clock=clock)


def test_max_age_expires_on_access_even_when_used(memory, clock):
    cache = make(memory, clock, max_age=10, max_idle=None)
    first = cache.get_or_load("a", memory.loader(MiB))
    clock.advance(6)
    assert cache.get_or_load("a", memory.loader(MiB)) is first
    clock.advance(5)  # 11 s since insert, 5 s since last access
    second = cache.get_or_load("a", memory.loader(MiB))
    assert second is not first
    s = cache.stats()
    assert (s["hits"], s["misses"], s["expirations"]) == (1, 2, 1)


def test_max_idle_expires_since_last_access(memory, clock):
    cache = make(memory, clock, max_age=None, max_idle=5)
    first = cache.get_or_load("a", memory.loader(MiB))
    for _ in range(4):  # used every 4 s: never idle for 5, though 16 s old
        clock.advance(4)
        assert cache.get_or_load("a", memory.loader(MiB)) is first
    clock.advance(5.5)
    assert cache.get_or_load("a", memory.loader(MiB)) is not first


def test_boundary_is_inclusive(memory, clock):
    cache = make(memory, clock, max_age=10, max_idle=None)
    first = cache.get_or_load("a", memory.loader(MiB))
    clock.advance(10)
    assert cache.get_or_load("a", memory.loader(MiB)) is first


def test_sweep_drops_expired_entries_without_access(memory, clock):
    cache = make(memory, clock, max_age=10, max_idle=None)
    cache.get_or_load("old", memory.loader(MiB))
    clock.advance(8)
    cache.get_or_load("new", memory.loader(MiB))
    clock.advance(3)
    assert cache.sweep() == 1
    assert [e["key"] for e in cache.entries()] == ["new"]
    assert memory.live == MiB  # the expired value was really released


def test_max_entries_evicts_least_recently_used(memory, clock):
    cache = make(memory, clock, max_entries=2)
    cache.get_or_load("a", memory.loader(MiB))
    cache.get_or_load("b", memory.loader(MiB))
    cache.get_or_load("a", memory.loader(MiB))
    cache.get_or_load("c", memory.loader(MiB))
    assert [e["key"] for e in cache.entries()] == ["a", "c"]
    assert cache.stats()["evictions"] == 1


def test_parameter_change_takes_effect_on_the_hot_path(memory, clock):
    policy = AgeBased(max_age=100, max_idle=None)
    cache = Cache(policy, rss_probe=memory.rss, clock=clock)
    first = cache.get_or_load("a", memory.loader(MiB))
    clock.advance(20)
    policy.max_age = 10
    assert cache.get_or_load("a", memory.loader(MiB)) is not first
