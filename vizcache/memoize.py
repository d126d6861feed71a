"""``vizcache.cached``: where a Panel app writes ``@pn.cache``, with a memory-aware policy behind it.

Keys are built by :mod:`vizcache.memoize_keys`: arguments bound to the signature, values kept
apart by type, pandas and numpy arguments hashed by content with Panel's own hash functions,
a method's instance by identity — plus, with ``per_session=True``, the Bokeh document, whose
entries go when its session ends. Generator functions are refused. Panel is imported on the
first call, not when this module is.
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from .cache import Cache
from .memoize_keys import CallKeys
from .policies import CachePolicy


_REGISTRY: dict[tuple, tuple] = {}
_REGISTRY_LOCK = threading.Lock()


def _policy_spec(policy) -> tuple:
    """What identifies a policy across re-runs of an app script: its config file, or its settings."""
    if policy is None or isinstance(policy, (str, Path)):
        return ("path", str(Path(policy).resolve()) if policy is not None else None)
    return (type(policy).__qualname__, repr(sorted(policy.settings().items())))


class CacheInfo(NamedTuple):
    """What ``f.cache_info()`` returns; ``hits``/``misses`` count this function's calls."""

    hits: int
    misses: int
    entries: int
    managed_bytes: int


def cached(
    func: Callable | None = None,
    *,
    cache: Cache | None = None,
    policy: CachePolicy | str | Path | None = None,
    per_session: bool = False,
    hash_funcs: dict[type, Callable[[Any], bytes]] | None = None,
):
    """Memoize ``func`` in a vizcache :class:`~vizcache.Cache` (single flight, policy-bounded).

    ``cache`` shares one cache between functions; otherwise the function gets its own, with
    ``policy`` — a policy object or the path of a TOML config with a ``[policy]`` table
    (default: ``RSSThresholdLRU`` with ``limit="auto"``).

    >>> @cached(policy=RSSThresholdLRU(limit="1GiB"))  # doctest: +SKIP
    ... def load(path): ...
    >>> load.cache_info(), load.cache_clear()  # doctest: +SKIP
    """
    if func is None:
        return functools.partial(cached, cache=cache, policy=policy, per_session=per_session, hash_funcs=hash_funcs)
    if inspect.isgeneratorfunction(func) or inspect.isasyncgenfunction(func):
        raise TypeError(f"cached() cannot cache the generator function {func.__qualname__}: a generator is "
                        "used up by its first caller, so every later caller would get an empty one; cache a "
                        "function that returns a list instead")
    if cache is not None and policy is not None:
        raise TypeError("give cached() a cache or a policy, not both")
    # By file, not module: Panel runs an app script under a new module name for every session.
    code = getattr(func, "__code__", None)
    name = f"{code.co_filename if code else func.__module__}:{func.__qualname__}"
    # `panel serve` runs the app script again for every session, decorating anew: the same
    # function with the same policy settings gets the same cache, as pn.cache's global store does.
    spec = (name, id(cache) if cache is not None else _policy_spec(policy))
    with _REGISTRY_LOCK:
        shared = _REGISTRY.get(spec)
        if shared is None:
            if cache is None:
                if isinstance(policy, (str, Path)):
                    from .config import policy_from_config

                    policy = policy_from_config(policy)
                cache = Cache(policy)
            shared = _REGISTRY[spec] = (cache, {"hits": 0, "misses": 0}, set())
    cache, counts, sessions = shared

    def forget_instance(instance_id: int) -> None:
        mine = ("self", ("instance", instance_id))
        for key in [k for k in cache if isinstance(k, tuple) and len(k) > 1 and k[0] == name and k[1] == mine]:
            cache.invalidate(key)

    call_key = CallKeys(func, hash_funcs, forget_instance)

    def key_for(args, kwargs) -> tuple:
        from panel.io.state import state

        key = (name, *call_key(args, kwargs))
        if per_session:
            doc = state.curdoc
            key += (id(doc),)
            if doc is not None and doc.session_context and id(doc) not in sessions:
                sessions.add(id(doc))
                doc.on_session_destroyed(lambda ctx, doc_id=id(doc): _forget_session(doc_id))
        return key

    def _forget_session(doc_id: int) -> None:
        sessions.discard(doc_id)
        for key in [k for k in cache if k[0] == name and k[-1] == doc_id]:
            cache.invalidate(key)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        key = key_for(args, kwargs)
        loaded = []

        def load():
            loaded.append(True)
            return func(*args, **kwargs)

        value = cache.get_or_load(key, load)
        counts["misses" if loaded else "hits"] += 1
        return value

    def cache_clear() -> None:
        """Forget this function's cached results (other functions sharing the cache keep theirs)."""
        for key in [k for k in cache if isinstance(k, tuple) and k and k[0] == name]:
            cache.invalidate(key)

    def cache_info() -> CacheInfo:
        mine = [k for k in cache if isinstance(k, tuple) and k and k[0] == name]
        return CacheInfo(counts["hits"], counts["misses"], len(mine), cache.managed_bytes())

    wrapper.cache = cache
    wrapper.cache_clear = cache_clear
    wrapper.cache_info = cache_info
    return wrapper
