import random
import subprocess
import sys

import numpy as np
import pytest
import torch

from musicrec.errors import ParameterError
from musicrec.utils import PROJECT_ROOT, project_path, set_seed, setup_torch


def test_set_seed_makes_python_numpy_and_torch_repeat():
    def draw():
        rng = set_seed(123)
        return random.random(), np.random.rand(), torch.rand(1).item(), rng.random()

    assert draw() == draw()


@pytest.mark.parametrize("seed", [-1, 1.5, "3", True])
def test_set_seed_rejects_bad_seed(seed):
    with pytest.raises(ParameterError, match="seed="):
        set_seed(seed)


def test_project_path_is_root_relative():
    assert project_path("figures") == PROJECT_ROOT / "figures"
    assert project_path(PROJECT_ROOT / "x") == PROJECT_ROOT / "x"


def test_setup_torch_cpu_uses_one_thread():
    previous = torch.get_num_threads()
    try:
        assert setup_torch("cpu").type == "cpu"
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(previous)


def test_setup_torch_rejects_unknown_device():
    with pytest.raises(ParameterError, match="device='tpu'"):
        setup_torch("tpu")


def test_pin_to_one_cpu_leaves_one_cpu_in_a_child_process():
    code = ("import os; from musicrec.utils import pin_to_one_cpu; message = pin_to_one_cpu(); "
            "print(len(os.sched_getaffinity(0)) if message.startswith('pinned') else 1, message)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out[0] == "1"
