"""The value every built-in dataset generator returns (torch is only needed to use it, not to import it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class Dataset:
    """`inputs` and `targets` share their leading sample axis; `extras` holds other named tensors
    (e.g. a held-out split or a mask), `metadata` plain JSON facts (the validated params, sizes)."""

    name: str
    inputs: torch.Tensor
    targets: torch.Tensor
    extras: dict[str, torch.Tensor] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)

    def as_tuple(self) -> tuple[torch.Tensor, torch.Tensor]:
        """`(inputs, targets)`, the form `estimate_llc` takes."""
        return self.inputs, self.targets
