"""True is not a count, a size or a duration: every built-in policy refuses a boolean for a number."""

import param
import pytest

from vizcache.policies import available_policies

CASES = [(name, key) for name, cls in sorted(available_policies().items())
         for key, p in cls.param.objects("existing").items() if isinstance(p, param.Number)]


@pytest.mark.parametrize(("policy", "key"), CASES)
@pytest.mark.parametrize("value", [True, False])
def test_a_boolean_for_a_number_is_refused_when_made_and_when_set(policy, key, value):
    cls = available_policies()[policy]
    with pytest.raises(ValueError, match=key):
        cls(**{key: value})
    made = cls()
    before = getattr(made, key)
    with pytest.raises(ValueError):
        setattr(made, key, value)
    assert getattr(made, key) == before and not isinstance(getattr(made, key), bool)


def test_there_are_numbers_to_check():
    assert {"max_entries", "high_water", "max_age"} <= {key for _, key in CASES}
