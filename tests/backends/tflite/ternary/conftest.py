"""A tiny encoder whose Linear weights are TWN-ternary (per row {-a_n, 0, +a_n})."""

import numpy as np
import pytest
import torch

from backends.executorch.ternary.blob import twn_ternarize


@pytest.fixture
def ternary_model(tiny_model):
    with torch.no_grad():
        for module in tiny_model.modules():
            if isinstance(module, torch.nn.Linear):
                values, scales = twn_ternarize(module.weight.numpy())
                module.weight.copy_(torch.from_numpy(values.astype(np.float32) * scales[:, None]))
    return tiny_model
