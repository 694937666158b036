"""Every chain's minibatch loss in one batched forward pass.

The sampler keeps the sampled parameters of C chains stacked along a leading axis,
θ: Float[Tensor, "chain *shape"] per parameter, and needs

    losses[c] = loss_fn(f(x_B[c]; θ[c], v*), y_B[c])          losses: Float[Tensor, "chain"]

for minibatches x_B: Float[Tensor, "chain batch ..."], with v* the frozen parameters. Gradients
come from one reverse pass over Σ_c losses[c] (chains are independent, so ∂/∂θ[c] of the sum is
chain c's gradient). Two builders:

* `plain_sequential_losses`: an `nn.Sequential` of `nn.Linear` and elementwise activations runs
  as batched matmuls, h ← act(h @ W[c]ᵀ + b[c]): no per-op dispatch through `vmap`.
* any other module: `torch.func.vmap` over `torch.func.functional_call`.

The loss itself is always vmapped over the chain axis, so `loss_fn` sees one chain's
(outputs, targets) exactly as it would without chains.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
from torch import nn
from torch.func import functional_call, vmap

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
ChainLosses = Callable[[Mapping[str, torch.Tensor], torch.Tensor, torch.Tensor], torch.Tensor]

ELEMENTWISE = (nn.ReLU, nn.Tanh, nn.GELU, nn.Sigmoid, nn.Identity, nn.LeakyReLU, nn.SiLU)


def chain_losses(
    model: nn.Module,
    loss_fn: LossFn,
    frozen: Mapping[str, torch.Tensor],
    buffers: Mapping[str, torch.Tensor],
    *,
    input_dim: int,
) -> ChainLosses:
    """The fastest exact batched loss for `model`; `input_dim` is inputs.dim() without chains."""
    if input_dim == 2 and is_plain_sequential(model):
        return plain_sequential_losses(model, loss_fn, frozen)
    return functional_losses(model, loss_fn, frozen, buffers)


def is_plain_sequential(model: nn.Module) -> bool:
    """True for an `nn.Sequential` of `nn.Linear` and elementwise activations without hooks."""
    if type(model) is not nn.Sequential or len(model) == 0:
        return False
    for module in model.modules():
        if module._forward_hooks or module._forward_pre_hooks or module._backward_hooks:
            return False
    return all(type(layer) is nn.Linear or type(layer) in ELEMENTWISE for layer in model)


def plain_sequential_losses(
    model: nn.Module, loss_fn: LossFn, frozen: Mapping[str, torch.Tensor]
) -> ChainLosses:
    layers = list(model.children())
    per_chain_loss = vmap(loss_fn)

    def losses(params: Mapping[str, torch.Tensor], xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        h = xb  # (chain, batch, d_in)
        for index, layer in enumerate(layers):
            if type(layer) is nn.Linear:
                weight = _lookup(params, frozen, f"{index}.weight")  # (chain, out, in) or (out, in)
                h = torch.matmul(h, weight.transpose(-1, -2))  # (chain, batch, out)
                if layer.bias is not None:
                    bias = _lookup(params, frozen, f"{index}.bias")  # (chain, out) or (out,)
                    h = h + (bias.unsqueeze(-2) if bias.dim() == 2 else bias)
            else:
                h = layer(h)
        return per_chain_loss(h, yb)  # (chain,)

    return losses


def functional_losses(
    model: nn.Module,
    loss_fn: LossFn,
    frozen: Mapping[str, torch.Tensor],
    buffers: Mapping[str, torch.Tensor],
) -> ChainLosses:
    def one_chain(params: dict[str, torch.Tensor], xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        return loss_fn(functional_call(model, {**params, **frozen, **buffers}, (xb,)), yb)

    batched = vmap(one_chain, in_dims=(0, 0, 0))

    def losses(params: Mapping[str, torch.Tensor], xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        return batched(dict(params), xb, yb)

    return losses


def _lookup(
    params: Mapping[str, torch.Tensor], frozen: Mapping[str, torch.Tensor], name: str
) -> torch.Tensor:
    return params[name] if name in params else frozen[name]
