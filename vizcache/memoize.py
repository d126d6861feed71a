"""``vizcache.cached``: ``pn.cache``'s interface, with a memory-aware policy behind it.

It takes ``pn.cache``'s arguments, bare or called (``@cached``, ``@cached(max_items=10)``), and
keeps their meaning; what it adds is a memory bound (``limit=``, ``budget=``, any vizcache policy
or a TOML config), single flight (concurrent callers of one key run the function once, ``async
def`` functions included), O(1) eviction, a bounded disk tier and exact argument hashing.

* Keys: :mod:`vizcache.memoize_keys` (arguments bound to the signature, types kept apart,
  methods per instance, :mod:`vizcache.memoize_hashing` for the rest).
* ``max_items``/``policy``/``ttl``: :mod:`vizcache.memoize_options` and
  :mod:`vizcache.memoize_policy`. ``to_disk``: :mod:`vizcache.memoize_disk`.
* Generator functions (sync or async) are refused when decorated: a generator is used up by its
  first caller, so a cached one would hand every later caller an empty one.
* ``pn.state.clear_caches()`` clears these functions too, as it clears ``pn.cache``'s.

Panel is imported on a call only when ``per_session`` or ``to_disk`` need it, or when Panel is
already loaded.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from .cache import Cache
from .memoize_disk import MISSING, DiskTier, disk_directory
from .memoize_keys import CallKeys, is_method
from .memoize_options import AUTO, build_policy
from .memoize_policy import CountBounded
from .policies import CachePolicy
from .sizing import nbytes_size
from .units import parse_bytes

_REGISTRY: dict[tuple, _Shared] = {}
_REGISTRY_LOCK = threading.Lock()


class CacheInfo(NamedTuple):
    """What ``f.cache_info()`` returns: this function's calls that hit memory, that were read
    back from disk, and that ran it; its entries in memory; the cache's managed bytes."""

    hits: int
    misses: int
    entries: int
    managed_bytes: int
    disk_hits: int = 0


class _Shared:
    """What every decoration of one function (with one set of options) shares: `panel serve`
    runs an app script again for each session, decorating anew."""

    def __init__(self, cache: Cache, disk: DiskTier | None) -> None:
        self.cache = cache
        self.disk = disk
        self.counts = {"hits": 0, "misses": 0, "disk_hits": 0}
        self.counts_lock = threading.Lock()
        self.sessions: set[int] = set()
        self.flights: dict[tuple, asyncio.Future] = {}  # (event loop, key) -> the running await

    def count(self, outcome: str) -> None:
        with self.counts_lock:
            self.counts[outcome] += 1


def cached(
    func: Callable | None = None,
    hash_funcs: dict | None = None,
    max_items: int | None = None,
    policy: str | CachePolicy | Path = "LRU",
    ttl: float | None = None,
    to_disk: bool = False,
    cache_path: str | Path | None = None,
    per_session: bool = False,
    *,
    cache: Cache | None = None,
    limit: int | str | None = AUTO,
    budget: int | str | None = None,
    disk_limit: int | str = "1GiB",
    disk_max_items: int = 100_000,
):
    """Memoize ``func`` in a vizcache :class:`~vizcache.Cache`: ``pn.cache``'s arguments, plus a memory bound.

    ``pn.cache``'s arguments mean what they mean there: ``hash_funcs`` (type → function returning
    bytes), ``max_items`` (most entries; unset: no count bound), ``policy`` (``"LRU"``, ``"LFU"``
    or ``"FIFO"``: which entry the count bound evicts first), ``ttl`` (seconds an entry is served),
    ``to_disk`` and ``cache_path`` (default: ``pn.config.cache_path``, ``"./cache"``), ``per_session``.

    vizcache's own: ``limit`` (RSS the process stays under, evicting least recently used first:
    bytes, ``"6GiB"``, ``"auto"`` — the default, half the RAM or the cgroup limit — or None for no
    memory bound, exactly ``pn.cache``), or ``budget`` (estimated bytes the entries may hold);
    ``policy`` may also be a vizcache policy object or the path of a ``.toml`` config with a
    ``[policy]`` table, which then carries every bound; ``cache`` shares one cache between
    functions; ``disk_limit`` and ``disk_max_items`` bound the disk tier (bytes, entries).

    A method's results belong to its instance and a session's to its session: neither is written
    to disk, which outlives the process they belong to.

    >>> @cached(max_items=100, policy="LFU", limit="2GiB")  # doctest: +SKIP
    ... def load(path): ...
    >>> load.cache_info(), load.clear()  # doctest: +SKIP
    """
    options = dict(hash_funcs=hash_funcs, max_items=max_items, policy=policy, ttl=ttl, to_disk=to_disk,
                   cache_path=cache_path, per_session=per_session, cache=cache, limit=limit, budget=budget,
                   disk_limit=disk_limit, disk_max_items=disk_max_items)
    if func is None:
        if to_disk and cache_path is None:  # pn.cache reads Panel's setting when decorating
            options["cache_path"] = _panel_cache_path()
        return functools.partial(cached, **options)
    if not callable(func):
        raise TypeError(f"cached() decorates a function, not {type(func).__name__} {func!r}")
    if inspect.isgeneratorfunction(func) or inspect.isasyncgenfunction(func):
        raise TypeError(f"cached() cannot cache the generator function {func.__qualname__}: a generator is "
                        "used up by its first caller, so every later caller would get an empty one; cache a "
                        "function that returns a list instead")
    if to_disk and cache_path is None:
        cache_path = _panel_cache_path()
    name = _function_name(func)
    shared = _shared_for(name, options | {"cache_path": cache_path}, is_method(func))
    return _wrap(func, name, shared, hash_funcs, per_session,
                 durable=shared.disk is not None and not per_session and not is_method(func))


def _function_name(func: Callable) -> str:
    """What identifies ``func`` when an app script runs again: its file (not its module, which
    Panel names anew for every session), its name, and where it starts, so two lambdas of one
    function are two functions."""
    code = getattr(func, "__code__", None)
    if code is None:
        return f"{func.__module__}:{func.__qualname__}"
    body = min(((line, column) for line, _, column, _ in code.co_positions() if column), default=None)
    return f"{code.co_filename}:{func.__qualname__}:{code.co_firstlineno}:{body}"


def _panel_cache_path() -> str:
    try:
        from panel.config import config
    except ImportError:
        return "./cache"
    return str(config.cache_path)


def _shared_for(name: str, options: dict, method: bool) -> _Shared:
    cache = options["cache"]
    if cache is not None:
        asked = [k for k in ("max_items", "ttl", "budget") if options[k] is not None]
        asked += [k for k, default in (("policy", "LRU"), ("limit", AUTO), ("to_disk", False))
                  if options[k] != default]
        if asked:
            raise TypeError(f"give cached() a cache or {'/'.join(asked)}, not both: a shared cache has its own policy")
        spec: tuple = (name, "cache", id(cache))
        policy = directory = None
    else:
        policy, policy_spec = build_policy(options["policy"], max_items=options["max_items"], ttl=options["ttl"],
                                           limit=options["limit"], budget=options["budget"])
        hash_spec = tuple(sorted(f"{k!r}:{getattr(f, '__qualname__', f)!r}" for k, f in (options["hash_funcs"] or {}).items()))
        directory = disk_directory(options["cache_path"], name) if options["to_disk"] else None
        spec = (name, policy_spec, hash_spec, options["per_session"], str(directory), options["disk_limit"],
                options["disk_max_items"])
    with _REGISTRY_LOCK:
        shared = _REGISTRY.get(spec)
        if shared is None:
            disk = None
            if cache is None and directory is not None:
                try:
                    disk_bytes = parse_bytes(options["disk_limit"])
                except (ValueError, OverflowError):
                    raise ValueError(f"cached(disk_limit={options['disk_limit']!r}) is not allowed: use bytes or "
                                     'a size string ("1GiB")') from None
                disk = DiskTier(directory, size_limit=disk_bytes, ttl=options["ttl"],
                                max_items=min(options["disk_max_items"], options["max_items"] or sys.maxsize))
            cache = cache if cache is not None else Cache(policy, on_removal=_disk_listener(disk))
            if disk is not None and isinstance(cache.policy, CountBounded):
                cache.policy.on_count_eviction = disk.delete
            shared = _REGISTRY[spec] = _Shared(cache, disk)
    return shared


def _disk_listener(disk: DiskTier | None) -> Callable | None:
    if disk is None:
        return None

    def forget_on_disk(key, value, cause: str) -> None:
        # Left memory for memory's sake ("evicted"): kept on disk. Expired or invalidated: gone.
        if cause in ("expired", "invalidated"):
            disk.delete([key])
    return forget_on_disk


def _wrap(func: Callable, name: str, shared: _Shared, hash_funcs, per_session: bool, durable: bool):
    cache, disk = shared.cache, shared.disk

    def mine(key) -> bool:
        return isinstance(key, tuple) and len(key) > 1 and key[0] == name

    def forget_instance(instance_id: int) -> None:
        owned = ("self", ("instance", instance_id))
        for key in [k for k in cache if mine(k) and k[1] == owned]:
            cache.invalidate(key)

    call_key = CallKeys(func, hash_funcs, forget_instance)

    def key_for(args, kwargs) -> tuple:
        key = (name, *call_key(args, kwargs))
        if per_session:
            from panel.io.state import state

            doc = state.curdoc
            key += (("session", id(doc)),)
            if doc is not None and doc.session_context and id(doc) not in shared.sessions:
                doc_id = id(doc)
                shared.sessions.add(doc_id)
                doc.on_session_destroyed(lambda ctx: forget_session(doc_id))
        return key

    def forget_session(doc_id: int) -> None:
        shared.sessions.discard(doc_id)
        for key in [k for k in cache if mine(k) and k[-1] == ("session", doc_id)]:
            cache.invalidate(key)

    def from_disk(key):
        if not durable:
            return MISSING
        value = disk.get(key)
        if value is not MISSING:
            shared.count("disk_hits")
        return value

    def stored(key, value):
        if durable:
            disk.set(key, value)
        return value

    if inspect.iscoroutinefunction(func):
        @functools.wraps(func)
        async def wrapper(*args, **kwargs):
            key = key_for(args, kwargs)
            return await _call_async(shared, key, lambda: func(*args, **kwargs), from_disk, stored,
                                     lambda: _register_with_panel(name, clear))
    else:
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            key = key_for(args, kwargs)
            ran = []

            def load():
                ran.append(True)
                _register_with_panel(name, clear)
                value = from_disk(key)
                if value is not MISSING:
                    return value
                shared.count("misses")
                return stored(key, func(*args, **kwargs))

            value = cache.get_or_load(key, load)
            if not ran:
                shared.count("hits")
            return value

    def clear() -> None:
        """Forget this function's results, in memory and on disk (other functions sharing its cache keep theirs)."""
        for key in [k for k in cache if mine(k)]:
            cache.invalidate(key)
        if disk is not None:
            disk.clear()

    def cache_info() -> CacheInfo:
        entries = sum(1 for k in cache if mine(k))
        with shared.counts_lock:
            counts = dict(shared.counts)
        return CacheInfo(counts["hits"], counts["misses"], entries, cache.managed_bytes(), counts["disk_hits"])

    wrapper.cache = cache
    wrapper.clear = wrapper.cache_clear = clear
    wrapper.cache_info = cache_info
    return wrapper


async def _call_async(shared: _Shared, key, run: Callable, from_disk: Callable, stored: Callable,
                      register: Callable):
    """One await per key: a caller that finds the key being awaited awaits that flight."""
    cache = shared.cache
    while True:
        value = cache.get(key, MISSING)
        if value is not MISSING:
            shared.count("hits")
            return value
        flight_key = (asyncio.get_running_loop(), key)
        flight = shared.flights.get(flight_key)
        if flight is None:
            break
        try:
            return await asyncio.shield(flight)
        except asyncio.CancelledError:
            if not flight.cancelled():
                raise  # this caller was cancelled, not the flight
            # the caller leading the flight was cancelled: lead a new one
    flight = asyncio.get_running_loop().create_future()
    shared.flights[flight_key] = flight
    try:
        register()
        value = from_disk(key)
        if value is MISSING:
            shared.count("misses")
            value = stored(key, await run())
        cache.put(key, value, size=nbytes_size(value))  # measured around an await, RSS would count other tasks
        flight.set_result(value)
        return value
    except asyncio.CancelledError:
        flight.cancel()
        raise
    except BaseException as exc:
        flight.set_exception(exc)
        flight.exception()  # retrieved: no "never retrieved" warning when no one else waited
        raise
    finally:
        shared.flights.pop(flight_key, None)


def _register_with_panel(name: str, clear: Callable) -> None:
    """So ``pn.state.clear_caches()`` clears this function too (it empties its registry each time)."""
    module = sys.modules.get("panel.io.state")
    memo = getattr(getattr(module, "state", None), "_memoize_cache", None)
    if isinstance(memo, dict):
        memo.setdefault(f"vizcache.cached:{name}:{id(clear)}", _PanelClear(clear))


class _PanelClear:
    """What Panel's ``state.clear_caches()`` calls ``.clear()`` on."""

    __slots__ = ("clear",)

    def __init__(self, clear: Callable) -> None:
        self.clear = clear
