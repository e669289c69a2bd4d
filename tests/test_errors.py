import math

import pytest

from musicrec.errors import ParameterError, check_choice, check_number, check_probability


def test_check_choice_names_value_and_choices():
    with pytest.raises(ParameterError, match=r"profile='fast' is not one of \['smoke', 'default'\]"):
        check_choice("profile", "fast", ["smoke", "default"])


@pytest.mark.parametrize("value", [-0.1, 1.5, math.nan, "0.5", None, True])
def test_check_probability_rejects(value):
    with pytest.raises(ParameterError, match="p="):
        check_probability("p", value)


def test_check_number_bounds_and_integers():
    assert check_number("alpha", 1.0, low=0, high=1, low_inclusive=False) == 1.0
    with pytest.raises(ParameterError, match="alpha=0 must be > 0"):
        check_number("alpha", 0, low=0, low_inclusive=False)
    with pytest.raises(ParameterError, match="episodes=2.5 must be an integer"):
        check_number("episodes", 2.5, integer=True)
