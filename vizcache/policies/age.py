"""AgeBased: entries expire by age since insert or idle time since last access."""

from __future__ import annotations

import param

from .expiry import _DAY, Expiring


class AgeBased(Expiring):
    """Serve an entry until it is ``max_age`` old or ``max_idle`` unused; optionally cap the count.

    No memory bound: pair expiry with one by giving ``RSSThresholdLRU`` or ``SizeEstimatedLRU``
    a ``max_age``/``max_idle`` instead.

    See Also
    --------
    RSSThresholdLRU, SizeEstimatedLRU : memory bounds that take the same expiry parameters.

    Examples
    --------
    >>> from vizcache import Cache
    >>> now = [0.0]
    >>> cache = Cache(AgeBased(max_age=60, max_idle=None), clock=lambda: now[0])
    >>> cache.get_or_load("a", lambda: "first")
    'first'
    >>> now[0] = 59.0
    >>> cache.get_or_load("a", lambda: "second")  # still fresh: served from the cache
    'first'
    >>> now[0] = 61.0
    >>> cache.get_or_load("a", lambda: "second")  # past max_age: loaded again
    'second'
    """

    max_age = param.Number(
        3600.0, bounds=(0.001, 30 * _DAY), allow_None=True,
        doc="Seconds since insert after which an entry expires; unset for no age limit.",
    )
    max_idle = param.Number(
        600.0, bounds=(0.001, 30 * _DAY), allow_None=True,
        doc="Seconds since last access after which an entry expires; unset for no idle limit.",
    )
