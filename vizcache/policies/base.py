"""The policy base class: a ``param.Parameterized`` whose hooks the Cache calls on its miss path.

A policy never touches the cache's dict directly; it asks the cache through the calls listed
in :mod:`vizcache.policies.contract`, so every probe, size estimate and eviction is timed,
counted and logged in one place. The miss-path hooks (``make_room``, ``admit``,
``after_admit``, ``sweep``) run outside the cache's lock; ``on_hit`` and ``on_remove`` run under
it and must not call the cache. An error a hook raises is logged as the policy's and never
reaches the caller of ``get_or_load``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import param
from param.parameterized import Undefined

from ..units import SIZE_HELP, format_bytes, parse_bytes
from .weigher import Weigher

if TYPE_CHECKING:
    from .contract import CacheView as Cache
    from .contract import EntryView as Entry


class ByteSize(param.Parameter):
    """A byte count given as an int or a size string ("800MB", "1.5GiB"); optionally "auto"."""

    __slots__ = ["bounds", "allow_auto"]
    _slot_defaults = {**param.Parameter._slot_defaults, "default": None, "bounds": (0, 2**60), "allow_auto": False}

    def __init__(self, default: Any = Undefined, *, bounds=Undefined, allow_auto=Undefined, **params) -> None:
        super().__init__(default=default, **params)
        object.__setattr__(self, "bounds", bounds)
        object.__setattr__(self, "allow_auto", allow_auto)
        self._validate(self.default)

    def allowed(self) -> str:
        lo, hi = self.bounds
        auto = '"auto", or ' if self.allow_auto else ""
        return f"{auto}{SIZE_HELP}, from {format_bytes(lo)} to {format_bytes(hi)}"

    def _validate_value(self, value: Any, allow_None: bool) -> None:
        if (allow_None and value is None) or (self.allow_auto and value == "auto"):
            return
        try:
            nbytes = parse_bytes(value)
        except (ValueError, OverflowError):  # OverflowError: inf, or a size past float range ("1e400B")
            raise ValueError(f"{self.name}={value!r} is not allowed: use {self.allowed()}") from None
        lo, hi = self.bounds
        if not lo <= nbytes <= hi:
            raise ValueError(f"{self.name}={value!r} is out of bounds: use {self.allowed()}")

    def _validate(self, val: Any) -> None:
        self._validate_value(val, self.allow_None)


class CachePolicy(param.Parameterized):
    """Base class of cache policies; subclasses override the hooks they need.

    Register a subclass under the entry-point group ``vizcache.policies`` and a TOML config
    can select it by that name::

        [project.entry-points."vizcache.policies"]
        MyPolicy = "mypackage.policy:MyPolicy"
    """

    #: When True the cache asks ``is_fresh`` on every hit (costs a call on the hot path).
    checks_on_hit: bool = False
    #: When RSS after a load is above this many bytes, the cache trims the heap and reads RSS
    #: again, so the load's RSS delta counts what the value holds, not its freed transient memory.
    trim_above_bytes: int | None = None

    def __init__(self, **params) -> None:
        super().__init__(**params)
        self._refuse_booleans()
        self._resolve()
        names = [name for name in self.param if name != "name"]
        if names:
            self.param.watch(self._on_change, names)

    def _resolve(self) -> None:
        """Copy parameter values into plain attributes for the miss path (a param read costs
        ~2 µs, a plain one ~0.03 µs); raise ValueError when the values do not fit together."""

    def _refuse_booleans(self) -> None:
        # param's Integer and Number take True as 1 (bool is an int); no count, size or duration means that
        for name, parameter in self.param.objects("existing").items():
            value = getattr(self, name)
            if isinstance(value, bool) and isinstance(parameter, param.Number):
                raise ValueError(f"{type(self).__name__}.{name} = {value!r} is not allowed: use {allowed_values(parameter)}")

    def _on_change(self, *events) -> None:
        # param has no cross-parameter validation before a value lands: undo a change that
        # _resolve rejects, so the policy never runs on values that do not fit together.
        try:
            self._refuse_booleans()
            self._resolve()
        except ValueError:
            with param.parameterized.discard_events(self):
                self.param.update({e.name: e.old for e in events})
            self._resolve()
            raise

    def make_room(self, cache: Cache, key) -> None:
        """Before a load: evict what must go so the new value can fit."""

    def admit(self, cache: Cache, entry: Entry, rss_after: int) -> bool:
        """After a load: keep the value (True) or hand it to the caller only (False)."""
        return True

    def after_admit(self, cache: Cache, entry: Entry, rss_after: int) -> None:
        """After inserting ``entry``: evict others down to the policy's target."""

    def on_hit(self, entry: Entry) -> None:
        """Called on every hit, under the cache's lock, only when a subclass overrides it: the
        place for a plugin's own eviction order to note an access. Keep it to a few operations."""

    def on_remove(self, entry: Entry, cause: str) -> None:
        """Called under the cache's lock, only when overridden, when ``entry`` leaves the cache
        (cause: evicted, expired, invalidated or replaced)."""

    def is_fresh(self, entry: Entry, now: float) -> bool:
        """Whether a cached entry may still be served (only asked when ``checks_on_hit``)."""
        return True

    def sweep(self, cache: Cache) -> int:
        """Drop whatever has gone stale; return how many entries went."""
        return 0

    def policy_stats(self, cache: Cache) -> dict:
        """Policy-specific figures merged into ``Cache.stats()``."""
        return {}

    def settings(self) -> dict:
        """Parameter values, as a config file would write them."""
        return {name: value for name, value in self.param.values().items() if name != "name"}

    @classmethod
    def describe(cls) -> list[dict]:
        """Each parameter's name, default, what is allowed, and doc (for `vizcache policies`)."""
        return [
            {"name": name, "default": p.default, "allowed": allowed_values(p), "doc": p.doc or ""}
            for name, p in cls.param.objects("existing").items()
            if name != "name"
        ]


def allowed_values(p: param.Parameter) -> str:
    """What a parameter accepts, in words, for help text and error messages."""
    if isinstance(p, ByteSize):
        allowed = p.allowed()
    elif isinstance(p, Weigher):
        allowed = "one of " + ", ".join(map(repr, p.objects)) + ', a callable, or "package.module:function"'
    elif isinstance(p, param.Selector):
        allowed = "one of " + ", ".join(map(repr, p.objects))
    elif isinstance(p, param.Number):
        kind = "a whole number" if isinstance(p, param.Integer) else "a number"
        allowed = f"{kind} from {p.bounds[0]} to {p.bounds[1]}" if p.bounds else kind
    elif isinstance(p, param.Boolean):
        allowed = "true or false"
    else:
        allowed = f"a {type(p).__name__.lower()}"
    return allowed + (", or left out for none" if p.allow_None else "")
