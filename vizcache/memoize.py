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
import hashlib
import inspect
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from .cache import Cache
from .memoize_disk import MISSING, DiskTier, disk_directory
from .memoize_functions import FunctionRecord, cached_functions_stats, own_cache, record_for, shared_cache
from .memoize_keys import CallKeys, is_method
from .memoize_options import AUTO, PN_POLICIES, build_policy
from .memoize_policy import CountBounded
from .policies import CachePolicy
from .sizing import nbytes_size
from .units import parse_bytes

__all__ = ["CacheInfo", "cached", "cached_functions_stats"]


class CacheInfo(NamedTuple):
    """What ``f.cache_info()`` returns: this function's calls that hit memory, that ran it, and
    that were read back from disk; its entries in memory and their ``nbytes``; ``managed_bytes``
    of its whole cache (shared with other functions unless it has a bound of its own)."""

    hits: int
    misses: int
    entries: int
    managed_bytes: int
    disk_hits: int = 0
    nbytes: int = 0


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
    bytes, ``"6GiB"``, ``"auto"`` — the default, 80 % of the RAM or cgroup limit per server process — or None for no
    memory bound, exactly ``pn.cache``), or ``budget`` (estimated bytes the entries may hold);
    ``policy`` may also be a vizcache policy object or the path of a ``.toml`` config with a
    ``[policy]`` table, which then carries every bound; ``cache`` shares one cache between
    functions; ``disk_limit`` and ``disk_max_items`` bound the disk tier (bytes, entries).

    A method's results belong to its instance and a session's to its session: neither is written
    to disk, which outlives the process they belong to.

    Examples
    --------
    >>> calls = []
    >>> @cached(max_items=100, policy="LFU", limit="2GiB")
    ... def square(x):
    ...     calls.append(x)
    ...     return x * x
    >>> square(3), square(3), calls  # the second call is a hit
    (9, 9, [3])
    >>> square.clear()
    >>> square(3), calls
    (9, [3, 3])
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
    record = _record_for(name, options | {"cache_path": cache_path})
    return _wrap(func, record, hash_funcs, per_session,
                 durable=record.disk is not None and not per_session and not is_method(func))


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


def _record_for(name: str, options: dict) -> FunctionRecord:
    """The function's record, with its cache: the process's shared one for its memory bound, unless
    it has a bound of its own (``max_items``, ``ttl``, a policy object or config) or is given one."""
    cache = options["cache"]
    hash_spec = tuple(sorted(f"{k!r}:{getattr(f, '__qualname__', f)!r}" for k, f in (options["hash_funcs"] or {}).items()))
    # key[0]: other hashing rules make other keys, which must not meet this function's in a shared cache
    tag = name if not hash_spec else f"{name}|hash_funcs:{hashlib.sha256(repr(hash_spec).encode()).hexdigest()[:16]}"
    if cache is not None:
        asked = [k for k in ("max_items", "ttl", "budget") if options[k] is not None]
        asked += [k for k, default in (("policy", "LRU"), ("limit", AUTO), ("to_disk", False))
                  if options[k] != default]
        if asked:
            raise TypeError(f"give cached() a cache or {'/'.join(asked)}, not both: a shared cache has its own policy")
        return record_for((name, "cache", id(cache), hash_spec, options["per_session"]),
                          lambda: FunctionRecord(name, tag, cache, None, shared=False))
    policy, policy_spec = build_policy(options["policy"], max_items=options["max_items"], ttl=options["ttl"],
                                       limit=options["limit"], budget=options["budget"])
    pn_policy = isinstance(options["policy"], str) and options["policy"].lower() in PN_POLICIES
    own = not pn_policy or options["max_items"] is not None or options["ttl"] is not None
    directory = disk_directory(options["cache_path"], name) if options["to_disk"] else None
    spec = (name, policy_spec, hash_spec, options["per_session"], str(directory), options["disk_limit"],
            options["disk_max_items"])

    def make() -> FunctionRecord:
        disk = None
        if directory is not None:
            try:
                disk_bytes = parse_bytes(options["disk_limit"])
            except (ValueError, OverflowError):
                raise ValueError(f"cached(disk_limit={options['disk_limit']!r}) is not allowed: use bytes or "
                                 'a size string ("1GiB")') from None
            disk = DiskTier(directory, size_limit=disk_bytes, ttl=options["ttl"],
                            max_items=min(options["disk_max_items"], options["max_items"] or sys.maxsize))
        made = own_cache(policy, disk) if own else shared_cache(policy_spec, lambda: policy)
        if disk is not None and own and isinstance(made.policy, CountBounded):
            made.policy.on_count_eviction = disk.delete
        return FunctionRecord(name, tag, made, disk, shared=not own)
    return record_for(spec, make)


def _wrap(func: Callable, record: FunctionRecord, hash_funcs, per_session: bool, durable: bool):
    cache, disk, tag = record.cache, record.disk, record.tag

    def forget_instance(instance_id: int) -> None:
        owned = ("instance", instance_id)
        record.forget(keep=lambda key: key[1] != owned)

    call_key = CallKeys(func, hash_funcs, forget_instance, tag)
    scalar_key = None if per_session else call_key.scalar_key
    call_done = record.call_done

    def key_for(args, kwargs) -> tuple:
        key = call_key(args, kwargs)
        if per_session:
            from panel.io.state import state

            doc = state.curdoc
            key += (("session", id(doc)),)
            if doc is not None and doc.session_context and id(doc) not in record.sessions:
                doc_id = id(doc)
                record.sessions.add(doc_id)
                doc.on_session_destroyed(lambda ctx: forget_session(doc_id))
        return key

    def forget_session(doc_id: int) -> None:
        record.sessions.discard(doc_id)
        record.forget(keep=lambda key: key[-1] != ("session", doc_id))

    def from_disk(key, aged: list):
        if not durable:
            return MISSING
        value, age = disk.get(key)
        if value is not MISSING:
            record.count("disk_hits")
            aged.append(age)
        return value

    def stored(key, value):
        if durable:
            disk.set(key, value)
        return value

    def backdate(key, aged: list) -> None:
        # Read back from disk: served for what is left of its ttl, not a whole ttl again.
        if aged and aged[0]:
            cache.backdate(key, aged[0])

    if inspect.iscoroutinefunction(func):
        @functools.wraps(func)
        async def wrapper(*args, **kwargs):
            key = key_for(args, kwargs)
            return await _call_async(record, key, lambda: func(*args, **kwargs), from_disk, stored, backdate,
                                     lambda: _register_with_panel(record.name, clear))
    else:
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            # f(1, "a"): a key without Signature.bind (most of a hit's cost otherwise)
            key = scalar_key(args) if scalar_key is not None and not kwargs else None
            if key is None:
                key = key_for(args, kwargs)
            ran = []  # [0] once this call runs the load, [0, age] when it read the result back from disk

            def load():
                ran.append(0)
                _register_with_panel(record.name, clear)
                record.loading(key)
                value = from_disk(key, ran)
                if value is not MISSING:
                    return value
                value = stored(key, func(*args, **kwargs))
                record.count("misses")
                return value

            try:
                value = cache.get_or_load(key, load)
            except BaseException:
                if ran:
                    record.loaded(key)
                raise
            if ran:
                record.loaded(key)
                backdate(key, ran[1:])
            call_done()
            return value

    def clear() -> None:
        """Forget this function's results, in memory and on disk (other functions sharing its cache keep theirs)."""
        record.forget()
        if disk is not None:
            disk.clear()

    def cache_info() -> CacheInfo:
        sizes = record.live()
        counts = record.snapshot()
        return CacheInfo(counts["hits"], counts["misses"], len(sizes), cache.managed_bytes(), counts["disk_hits"],
                         sum(sizes.values()))

    wrapper.cache = cache
    wrapper.clear = wrapper.cache_clear = clear
    wrapper.cache_info = cache_info
    return wrapper


async def _call_async(record: FunctionRecord, key, run: Callable, from_disk: Callable, stored: Callable,
                      backdate: Callable, register: Callable):
    """One await per key: a caller that finds the key being awaited awaits that flight."""
    cache = record.cache
    while True:
        value = cache.get(key, MISSING)
        if value is not MISSING:
            record.call_done()
            return value
        flight_key = (asyncio.get_running_loop(), key)
        flight = record.flights.get(flight_key)
        if flight is None:
            break
        try:
            value = await asyncio.shield(flight)
            record.call_done()
            return value
        except asyncio.CancelledError:
            if not flight.cancelled():
                raise  # this caller was cancelled, not the flight
            # the caller leading the flight was cancelled: lead a new one
    flight = asyncio.get_running_loop().create_future()
    record.flights[flight_key] = flight
    try:
        register()
        aged: list = []
        value = from_disk(key, aged)
        if value is MISSING:
            value = stored(key, await run())
            record.count("misses")
        record.loading(key)
        try:
            cache.put(key, value, size=nbytes_size(value))  # measured around an await, RSS would count other tasks
        finally:
            record.loaded(key)
        backdate(key, aged)
        flight.set_result(value)
        record.call_done()
        return value
    except asyncio.CancelledError:
        flight.cancel()
        raise
    except BaseException as exc:
        flight.set_exception(exc)
        flight.exception()  # retrieved: no "never retrieved" warning when no one else waited
        raise
    finally:
        record.flights.pop(flight_key, None)


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
