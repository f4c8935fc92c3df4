"""SubnetSpec: which slice of the supernet a model is (DynaBERT width and depth multipliers)."""

import math
from dataclasses import dataclass

from exporter.errors import UserError

WIDTHS = (0.25, 0.5, 0.75, 1.0)
DEPTHS = (0.5, 0.75, 1.0)


@dataclass(frozen=True, order=True)
class SubnetSpec:
    width: float = 1.0
    depth: float = 1.0

    def __post_init__(self):
        for name, value in (("width", self.width), ("depth", self.depth)):
            if not 0.0 < value <= 1.0:
                raise UserError(f"sub-network {name} {value!r} must be in (0, 1]")

    def kept_heads(self, heads: int) -> int:
        return max(1, math.ceil(self.width * heads - 1e-9))

    def kept_neurons(self, ffn: int) -> int:
        return max(1, math.ceil(self.width * ffn - 1e-9))

    def kept_layers(self, layers: int) -> tuple[int, ...]:
        """DynaBERT's rule: keep round(depth*L) layers, layer i of the slice is floor(i / depth).

        Depth 0.5 of 6 layers keeps 0, 2, 4; depth 0.75 keeps 0, 1, 2, 4 — spread evenly so the
        slice still sees low, middle and high layers.
        """
        if self.depth >= 1.0:
            return tuple(range(layers))
        n = max(1, round(self.depth * layers))
        return tuple(min(layers - 1, math.floor(i / self.depth)) for i in range(n))

    @property
    def name(self) -> str:
        return f"w{self.width:g}-d{self.depth:g}"


FULL = SubnetSpec(1.0, 1.0)


def model_name(subnet: SubnetSpec, size_mb: float | None = None) -> str:
    """"w0.5-d1" for a slice; "w1-d1-9.5mb" for a mixed-precision model searched from it to 9.5 MB."""
    return subnet.name if size_mb is None else f"{subnet.name}-{size_mb:g}mb"
