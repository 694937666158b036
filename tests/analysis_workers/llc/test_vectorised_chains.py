"""Chains run as one batched computation: equal to looping one chain, on both backends."""

from __future__ import annotations

import pytest
import torch

from analysis_workers.llc import LLCEstimate, estimate_llc
from analysis_workers.llc.chains import chain_losses, is_plain_sequential
from analysis_workers.llc.restriction import select_weights
from analysis_workers.llc.sampler import run_chains
from analysis_workers.sampler_config import SamplerConfig


def mse(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return ((outputs - targets) ** 2).mean()


class RecordedNoise:
    """Pre-drawn minibatch rows (T, C, B) and Gaussian draws (T, C, P); `chains` picks a subset."""

    def __init__(self, rows: torch.Tensor, gaussian: torch.Tensor, chains: slice) -> None:
        self.rows, self.noise, self.chains = rows, gaussian, chains

    def batch_indices(self, step: int) -> torch.Tensor:
        return self.rows[step, self.chains]

    def gaussian(self, step: int) -> torch.Tensor:
        return self.noise[step, self.chains]


def tiny_mlp() -> tuple[torch.nn.Module, tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2, bias=False)
    ).double()
    x = torch.randn(64, 3, generator=g, dtype=torch.float64)
    return model, (x, model(x).detach() + 0.1 * torch.randn(64, 2, generator=g, dtype=torch.float64))


class Wrapped(torch.nn.Module):
    """The same network behind a custom forward: forces the vmap backend."""

    def __init__(self, inner: torch.nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x)


@pytest.mark.parametrize("wrap", [False, True], ids=["batched-matmul", "vmap"])
def test_each_vectorised_chain_equals_the_chain_run_alone(wrap: bool) -> None:
    model, data = tiny_mlp()
    if wrap:
        model = Wrapped(model)
    selection = select_weights(model, None, None)
    parameters = sum(p.numel() for p in model.parameters())
    steps, chains, batch = 12, 3, 8
    g = torch.Generator().manual_seed(1)
    rows = torch.randint(0, 64, (steps, chains, batch), generator=g)
    gaussian = torch.randn(steps, chains, parameters, generator=g, dtype=torch.float64)
    config = SamplerConfig(
        num_chains=chains, num_draws=steps, num_burnin=0, step_size=1e-3, localization=5.0, batch_size=batch
    )
    together = run_chains(
        model,
        data,
        mse,
        selection,
        config,
        RecordedNoise(rows, gaussian, slice(None)),
        device=torch.device("cpu"),
    )
    single = SamplerConfig(
        num_chains=1, num_draws=steps, num_burnin=0, step_size=1e-3, localization=5.0, batch_size=batch
    )
    for chain in range(chains):
        alone = run_chains(
            model,
            data,
            mse,
            selection,
            single,
            RecordedNoise(rows, gaussian, slice(chain, chain + 1)),
            device=torch.device("cpu"),
        )
        torch.testing.assert_close(alone.losses[0], together.losses[chain], rtol=1e-10, atol=1e-12)
    assert together.backend == ("vmap" if wrap else "batched-matmul")


def test_batched_matmul_and_vmap_backends_agree_on_losses_and_gradients() -> None:
    model, (x, y) = tiny_mlp()
    assert is_plain_sequential(model) and not is_plain_sequential(Wrapped(model))
    g = torch.Generator().manual_seed(2)
    stacked = {
        name: (
            p.detach().unsqueeze(0) + 0.1 * torch.randn(4, *p.shape, generator=g, dtype=p.dtype)
        ).requires_grad_()
        for name, p in model.named_parameters()
    }
    rows = torch.randint(0, 64, (4, 16), generator=g)
    fast = chain_losses(model, mse, {}, {}, input_dim=2)(stacked, x[rows], y[rows])
    wrapped_params = {f"inner.{k}": v for k, v in stacked.items()}
    slow = chain_losses(Wrapped(model), mse, {}, {}, input_dim=2)(wrapped_params, x[rows], y[rows])
    torch.testing.assert_close(fast, slow)
    grads_fast = torch.autograd.grad(fast.sum(), list(stacked.values()))
    grads_slow = torch.autograd.grad(slow.sum(), list(stacked.values()))
    for a, b in zip(grads_fast, grads_slow, strict=True):
        torch.testing.assert_close(a, b)


def test_estimate_is_deterministic_per_seed_and_shapes_are_documented() -> None:
    model, data = tiny_mlp()
    settings = SamplerConfig(num_chains=3, num_draws=40, num_burnin=10, step_size=1e-4, batch_size=16, seed=5)
    first = estimate_llc(model, data, mse, settings, emit_warnings=False)
    again = estimate_llc(model, data, mse, settings, emit_warnings=False)
    assert isinstance(first, LLCEstimate)
    assert first.loss_trace.shape == (3, 40) and len(first.per_chain) == 3
    assert torch.equal(first.loss_trace, again.loss_trace) and first.per_chain == again.per_chain
    assert first.llc_trace.shape == (3, 40)
    assert first.mean == pytest.approx(sum(first.per_chain) / 3)


def test_progress_is_reported_and_an_exception_from_it_cancels() -> None:
    model, data = tiny_mlp()
    seen: list[float] = []
    every_tenth = SamplerConfig(num_draws=50, num_burnin=0, check_every=10)
    estimate_llc(model, data, mse, every_tenth, progress=seen.append, emit_warnings=False)
    assert seen == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0])

    class Cancelled(Exception):
        pass

    def cancel(fraction: float) -> None:
        if fraction >= 0.4:
            raise Cancelled

    with pytest.raises(Cancelled):
        estimate_llc(model, data, mse, every_tenth, progress=cancel, emit_warnings=False)


def test_step_norms_are_recorded_on_request() -> None:
    model, data = tiny_mlp()
    plain = estimate_llc(model, data, mse, SamplerConfig(num_draws=20, num_burnin=0), emit_warnings=False)
    assert plain.step_norms is None and "drift_to_noise" not in plain.diagnostics
    estimate = estimate_llc(
        model, data, mse, SamplerConfig(num_draws=20, num_burnin=5, diagnose_steps=True), emit_warnings=False
    )
    assert estimate.step_norms is not None
    assert {name: tuple(t.shape) for name, t in estimate.step_norms.items()} == {
        "drift": (4, 25),
        "localization": (4, 25),
        "noise": (4, 25),
    }
    # the first step starts at w*, so the localisation term is exactly zero there
    assert torch.all(estimate.step_norms["localization"][:, 0] == 0)
    parameters = sum(p.numel() for p in model.parameters())
    noise = estimate.step_norms["noise"] / (1e-4**0.5)  # ‖ξ‖ for ξ ~ N(0, I_P): about √P
    assert float(noise.mean()) == pytest.approx(parameters**0.5, rel=0.2)
    assert estimate.diagnostics["drift_to_noise"] > 0
