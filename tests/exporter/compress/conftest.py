"""Tiny-model tests run single-threaded: on a busy 2-core machine, OpenMP's two threads per tiny
op cost milliseconds of synchronisation each, far more than the op itself."""

import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
