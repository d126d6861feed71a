"""Like Panel's own test suite: every parameter of every vizcache Parameterized has a doc and real limits."""

import param
import pytest

from vizcache.policies import available_policies
from vizcache.viewer.monitor import CacheMonitor
from vizcache.viewer.reports import ReportList
from vizcache.viewer.settings import ViewerSettings
from vizcache.viewer.skymap import SkyMap

CLASSES = [SkyMap, CacheMonitor, ReportList, ViewerSettings, *available_policies().values()]


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_every_parameter_has_doc_and_limits(cls):
    own = {name: p for name, p in cls.param.objects("existing").items() if p.owner.__module__.startswith("vizcache")}
    assert own, f"{cls.__name__} declares no parameters"
    for name, p in own.items():
        assert p.doc and len(p.doc) > 10, f"{cls.__name__}.{name} has no doc"
        if isinstance(p, (param.Number, param.Range)):
            assert p.bounds is not None and p.bounds[0] is not None, f"{cls.__name__}.{name} has no lower bound"
        if isinstance(p, param.Selector) and not (cls is SkyMap and name == "catalog"):  # catalogs come from the config
            assert p.objects, f"{cls.__name__}.{name} has no choices"
