"""Eager references for the ternary TFLite tests: int8-activation twin, fp32, a LowerSpec."""

import numpy as np
import torch

from backends.base import LowerSpec
from backends.executorch.ternary.blob import ActivationQuant
from backends.executorch.ternary.reference import fake_quant_linear


def eager_int8_activations(model, ids, mask) -> np.ndarray:
    """Eager logits with every Linear quantizing its input to int8 per row, as the kernel does."""
    act = ActivationQuant()
    hooks = [m.register_forward_hook(lambda mod, args, out: fake_quant_linear(args[0], mod.weight, mod.bias, act))
             for m in model.modules() if isinstance(m, torch.nn.Linear)]
    try:
        with torch.no_grad():
            return np.concatenate([model(torch.from_numpy(ids[i:i + 1]), torch.from_numpy(mask[i:i + 1])).numpy()
                                   for i in range(len(ids))])
    finally:
        for h in hooks:
            h.remove()


def eager_fp32(model, ids, mask) -> np.ndarray:
    with torch.no_grad():
        return model(torch.from_numpy(ids), torch.from_numpy(mask)).numpy()


def spec_for(ids, mask, **options) -> LowerSpec:
    return LowerSpec("ternary", ids.shape[1], ids, mask, tuple(options.items()))
