"""Which data and which weights an LLC estimate looks at (Wang et al. 2024, "Differentiation
and specialization of attention heads via the refined local learning coefficient").

* **Weight-restricted LLC.** Split w = (u, v); sample only u (the parameters whose names match
  `restrict_to`, or the elements selected by `weight_masks`) and freeze v = v*. The estimate is
  the learning coefficient of u ↦ L_n(u, v*) at u*.
* **Data-restricted (data-refined) LLC.** Replace the dataset by a subset D' of n' samples: both
  the posterior and L_n(w*) use D', and the default nβ becomes n' / log n'.

Components (`component_masks`) name the weights of a transformer the way devinterp does, and
resolve to exact element masks on the zoo transformer and on wrapped Hugging Face causal LMs:

    l{L}h{H}    head H of layer L: its rows/columns of Q, K, V (with their biases) and of O
                (grouped-query attention: the K/V head it reads, shared with its group)
    l{L}g{G}    key/value group G of layer L (llama, qwen2, mistral): the query heads
                G·r … G·r + r − 1 (r = n_heads / n_kv_heads) and K/V head G
    l{L} attn   every parameter of layer L's attention (O's bias included)
    l{L} mlp    every parameter of layer L's MLP
    embed, pos_embed, unembed   the token embedding, learned positions, the unembedding

Norm weights belong to no component. With tied embeddings `embed` and `unembed` are one parameter.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatch
from typing import Any, Literal

import torch
from torch import nn

from analysis_workers.zoo.components import HeadAxis, LayerLayout, component_layout

COMPONENT_GRAMMAR = "l{L}h{H}, l{L}g{G}, 'l{L} attn', 'l{L} mlp', embed, pos_embed, unembed"


@dataclass(frozen=True)
class WeightSelection:
    """The sampled parameters: names in `model.named_parameters()` order, and for each an
    optional boolean element mask of the parameter's shape (None = every element)."""

    names: tuple[str, ...]
    masks: dict[str, torch.Tensor | None]

    def sampled_count(self, parameters: Mapping[str, torch.Tensor]) -> int:
        total = 0
        for name in self.names:
            mask = self.masks[name]
            total += int(mask.sum()) if mask is not None else parameters[name].numel()
        return total


def split_data(data: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """`(inputs, targets)` from a 2-tuple of tensors or a two-tensor `TensorDataset`."""
    if isinstance(data, torch.utils.data.TensorDataset):
        if len(data.tensors) != 2:
            raise ValueError("a TensorDataset for estimate_llc must hold exactly (inputs, targets)")
        inputs, targets = data.tensors
    elif isinstance(data, tuple | list) and len(data) == 2 and all(isinstance(t, torch.Tensor) for t in data):
        inputs, targets = data
    else:
        raise ValueError("data must be a tuple (inputs, targets) of tensors or a TensorDataset")
    if inputs.dim() == 0 or targets.dim() == 0:
        raise ValueError("inputs and targets need a leading sample axis")
    if inputs.shape[0] != targets.shape[0]:
        raise ValueError(
            f"inputs have {inputs.shape[0]} rows but targets have {targets.shape[0]}; give one target per input"
        )
    return inputs, targets


def restrict_data(
    inputs: torch.Tensor, targets: torch.Tensor, subset: torch.Tensor | Sequence[int] | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """The rows selected by `subset` (a boolean mask of length n or integer indices)."""
    if subset is None:
        return inputs, targets
    index = torch.as_tensor(subset)
    n = inputs.shape[0]
    if index.dtype == torch.bool:
        if index.shape != (n,):
            raise ValueError(f"a boolean data_subset must have shape ({n},), got {tuple(index.shape)}")
        index = index.nonzero().squeeze(1)
    elif index.dtype in (torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8):
        if index.dim() != 1:
            raise ValueError("data_subset indices must be a 1-D sequence of row numbers")
        if index.numel() and (int(index.min()) < 0 or int(index.max()) >= n):
            raise ValueError(f"data_subset indices must lie in [0, {n})")
    else:
        raise ValueError("data_subset must be a boolean mask or integer row indices")
    index = index.to(torch.long)
    return inputs[index], targets[index]


def select_weights(
    model: nn.Module,
    restrict_to: Sequence[str] | None,
    weight_masks: Mapping[str, torch.Tensor] | None,
) -> WeightSelection:
    """Resolve glob patterns over parameter names and element masks into a `WeightSelection`.

    With neither given, every parameter is sampled. With both, a parameter is sampled if its
    name matches a pattern or it has a mask (then only the masked elements move).
    """
    parameters = dict(model.named_parameters())
    if not parameters:
        raise ValueError("the model has no parameters to sample; give a model with trainable weights")
    if isinstance(restrict_to, str):
        raise ValueError("restrict_to must be a list of name patterns, not a single string")
    masks: dict[str, torch.Tensor | None] = {}
    for name, mask in (weight_masks or {}).items():
        if name not in parameters:
            raise ValueError(
                f"weight_masks names {name!r}, which is not a parameter; names are e.g. {list(parameters)[:3]}"
            )
        mask_tensor = torch.as_tensor(mask)
        if mask_tensor.dtype != torch.bool or mask_tensor.shape != parameters[name].shape:
            raise ValueError(
                f"weight_masks[{name!r}] must be a boolean tensor of shape {tuple(parameters[name].shape)}"
            )
        if not bool(mask_tensor.any()):
            raise ValueError(f"weight_masks[{name!r}] selects no element")
        masks[name] = mask_tensor.detach().cpu()
    everything = restrict_to is None and not masks
    patterns = list(restrict_to or [])
    names = tuple(
        name
        for name in parameters
        if everything or name in masks or any(fnmatch(name, pattern) for pattern in patterns)
    )
    if not names:
        raise ValueError(
            f"no parameter matches restrict_to={patterns}; names are e.g. {list(parameters)[:3]}"
        )
    return WeightSelection(names=names, masks={name: masks.get(name) for name in names})


def head_mask(
    shape: Sequence[int], *, head: int, num_heads: int, dim: int = 0, num_fused: int = 1
) -> torch.Tensor:
    """Boolean mask selecting one attention head's slices of a (possibly fused) weight.

    Along axis `dim` of size `num_fused · num_heads · d_head` (e.g. a fused QKV matrix has
    num_fused = 3), block k ∈ {0, …, num_fused−1} holds heads 0…num_heads−1 of d_head rows each;
    the mask selects rows k·num_heads·d_head + head·d_head … + d_head − 1 of every block.
    """
    shape = tuple(int(s) for s in shape)
    if not 0 <= dim < len(shape):
        raise ValueError(f"dim {dim} is out of range for a weight of shape {shape}")
    if num_heads < 1 or num_fused < 1 or not 0 <= head < num_heads:
        raise ValueError("need num_heads ≥ 1, num_fused ≥ 1 and 0 ≤ head < num_heads")
    size = shape[dim]
    if size % (num_heads * num_fused):
        raise ValueError(f"axis {dim} of size {size} does not split into {num_fused}×{num_heads} heads")
    d_head = size // (num_heads * num_fused)
    selected = torch.zeros(size, dtype=torch.bool)
    for block in range(num_fused):
        start = (block * num_heads + head) * d_head
        selected[start : start + d_head] = True
    view = [1] * len(shape)
    view[dim] = size
    return selected.view(view).expand(shape).clone()


# ------------------------------------------------------------------------------ components

ComponentKind = Literal["head", "group", "attn", "mlp", "embed", "pos_embed", "unembed"]
_WHOLE_MODULES: dict[str, ComponentKind] = {"embed": "embed", "pos_embed": "pos_embed", "unembed": "unembed"}
_LAYER_FORMS: tuple[tuple[re.Pattern[str], ComponentKind], ...] = (
    (re.compile(r"l(\d+)h(\d+)"), "head"),
    (re.compile(r"l(\d+)g(\d+)"), "group"),
    (re.compile(r"l(\d+) attn()"), "attn"),
    (re.compile(r"l(\d+) mlp()"), "mlp"),
)


@dataclass(frozen=True)
class Component:
    """One parsed component: its kind, its layer (None for embed/pos_embed/unembed) and the
    head or group index (None otherwise)."""

    kind: ComponentKind
    layer: int | None = None
    index: int | None = None


def parse_component(text: str) -> Component:
    """`l0h1` → Component("head", 0, 1), `l2 mlp` → Component("mlp", 2), `embed` → Component("embed")."""
    if text in _WHOLE_MODULES:
        return Component(_WHOLE_MODULES[text])
    for pattern, kind in _LAYER_FORMS:
        found = pattern.fullmatch(text)
        if found:
            index = int(found.group(2)) if found.group(2) else None
            return Component(kind, int(found.group(1)), index)
    raise ValueError(f"{text!r} is not a component; the forms are {COMPONENT_GRAMMAR}")


def component_masks(model: nn.Module, components: Sequence[str]) -> dict[str, torch.Tensor]:
    """`weight_masks` for `estimate_llc` that sample exactly the named components' entries.

    Keys are `model.named_parameters()` names (a tied parameter under its first name); the
    masks of components that share a parameter are OR-ed. Works on the zoo transformer and on
    `HookedCausalLM` (see `analysis_workers.zoo.components` for the head layouts).
    """
    if isinstance(components, str) or not components:
        raise ValueError(f"components must be a non-empty list such as ['l0h1'] ({COMPONENT_GRAMMAR})")
    layout = component_layout(model)
    every_name = dict(model.named_parameters(remove_duplicate=False))
    canonical = {id(parameter): name for name, parameter in model.named_parameters()}
    masks: dict[str, torch.Tensor] = {}

    def add(name: str, mask: torch.Tensor | None = None) -> None:
        parameter = every_name[name]
        key = canonical[id(parameter)]
        mask = torch.ones(parameter.shape, dtype=torch.bool) if mask is None else mask
        masks[key] = masks[key] | mask if key in masks else mask

    def head_entries(axis: HeadAxis, head: int) -> torch.Tensor:
        shape = every_name[axis.parameter].shape
        return head_mask(shape, head=head, num_heads=axis.num_heads, dim=axis.dim, num_fused=axis.num_fused)

    for text in components:
        component = parse_component(text)
        if component.layer is None:
            names: tuple[str, ...] = getattr(layout, component.kind)
            if not names:
                raise ValueError(f"{text!r}: this model has no {component.kind.replace('_', ' ')}")
            for name in names:
                add(name)
            continue
        layer = _layer(layout.layers, component.layer, text)
        if component.kind == "attn":
            for name in layer.attn:
                add(name)
        elif component.kind == "mlp":
            if not layer.mlp:
                raise ValueError(f"{text!r}: layer {component.layer} has no MLP")
            for name in layer.mlp:
                add(name)
        elif component.kind == "head":
            head = _index(component.index, layer.n_heads, "head", text)
            group_size = layer.n_heads // layer.n_kv_heads
            for axis in layer.heads:
                add(axis.parameter, head_entries(axis, head // group_size if axis.kv else head))
        else:
            if not layer.grouped:
                raise ValueError(f"{text!r}: this model has no key/value groups; name heads (l{{L}}h{{H}})")
            group = _index(component.index, layer.n_kv_heads, "key/value group", text)
            group_size = layer.n_heads // layer.n_kv_heads
            for axis in layer.heads:
                heads = [group] if axis.kv else range(group * group_size, (group + 1) * group_size)
                mask = torch.zeros(every_name[axis.parameter].shape, dtype=torch.bool)
                for head in heads:
                    mask |= head_entries(axis, head)
                add(axis.parameter, mask)
    return masks


def _layer(layers: Sequence[LayerLayout], layer: int, text: str) -> LayerLayout:
    if not 0 <= layer < len(layers):
        raise ValueError(f"{text!r}: layer {layer} does not exist (n_layers={len(layers)})")
    return layers[layer]


def _index(index: int | None, count: int, what: str, text: str) -> int:
    if index is None or not 0 <= index < count:
        raise ValueError(f"{text!r}: {what} {index} does not exist (there are {count})")
    return index
