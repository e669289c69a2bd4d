import pytest

from musicrec.errors import ParameterError
from musicrec.hyperparams import load_hyperparams


def test_env_block_overrides_default_block():
    params = load_hyperparams("qtable", "musicrec/Genre-v0")
    assert params["alpha"] == 0.1 and params["gamma"] == 0.9


def test_unknown_algorithm_is_named():
    with pytest.raises(ParameterError, match="algorithm='sarsa'"):
        load_hyperparams("sarsa")
