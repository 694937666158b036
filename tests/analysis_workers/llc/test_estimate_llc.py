"""The vectorised SGLD estimator: the regular-model value, determinism, bad input, divergence."""

from __future__ import annotations

import copy
from dataclasses import replace

import pytest
import torch

from analysis_workers.llc import LLCDivergenceError, estimate_llc
from analysis_workers.sampler_config import SamplerConfig


def mse(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return ((outputs - targets) ** 2).mean()


@pytest.fixture(scope="module")
def regression() -> tuple[torch.nn.Module, tuple[torch.Tensor, torch.Tensor]]:
    """A linear regression at its least-squares optimum: regular, so λ = d/2 = 6·3/2 = 9."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(5000, 6, generator=g)
    y = x @ torch.randn(3, 6, generator=g).T + 0.5 * torch.randn(5000, 3, generator=g)
    model = torch.nn.Linear(6, 3, bias=False)
    with torch.no_grad():
        model.weight.copy_(torch.linalg.lstsq(x, y).solution.T)
    return model, (x, y)


SETTINGS = SamplerConfig(
    num_chains=4, num_draws=500, num_burnin=100, step_size=1e-3, localization=100.0, batch_size=256
)


def test_regular_model_gives_half_its_dimension(regression) -> None:
    model, data = regression
    estimate = estimate_llc(model, data, mse, replace(SETTINGS, seed=1))
    assert estimate.mean == pytest.approx(9.0, rel=0.15)
    assert estimate.loss_trace.shape == (4, 500) and len(estimate.per_chain) == 4
    assert estimate.diagnostics["r_hat"] < 1.05 and estimate.diagnostics["ess"] > 100
    assert estimate.diagnostics["sampled_parameters"] == 18


def test_same_seed_same_estimate_and_the_model_is_untouched(regression) -> None:
    model, data = regression
    before = copy.deepcopy(model.state_dict())
    first = estimate_llc(model, data, mse, replace(SETTINGS, seed=3, num_draws=50))
    second = estimate_llc(model, data, mse, replace(SETTINGS, seed=3, num_draws=50))
    other = estimate_llc(model, data, mse, replace(SETTINGS, seed=4, num_draws=50))
    assert torch.equal(first.loss_trace, second.loss_trace) and first.mean == second.mean
    assert not torch.equal(first.loss_trace, other.loss_trace)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_restricting_to_some_weights_samples_only_those(regression) -> None:
    g = torch.Generator().manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 4, bias=False), torch.nn.Linear(4, 2, bias=False))
    x = torch.randn(500, 4, generator=g)
    y = model(x).detach()
    estimate = estimate_llc(
        model, (x, y), mse, SamplerConfig(num_draws=50, num_chains=2, num_burnin=0), restrict_to=["1.*"]
    )
    assert estimate.diagnostics["sampled_parameters"] == 8


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"num_draws": 0}, "num_draws"),
        ({"step_size": -1.0}, "step_size"),
        ({"batch_size": 0}, "batch_size"),
        ({"restrict_to": ["nothing.*"]}, "restrict_to"),
    ],
)
def test_bad_settings_say_what_to_change(regression, change: dict, message: str) -> None:
    model, data = regression
    with pytest.raises(ValueError, match=message):
        sampler = {name: value for name, value in change.items() if name != "restrict_to"}
        estimate_llc(model, data, mse, replace(SETTINGS, **sampler), restrict_to=change.get("restrict_to"))


def test_bad_data_and_models_are_refused(regression) -> None:
    model, (x, y) = regression
    with pytest.raises(ValueError, match="one target per input"):
        estimate_llc(model, (x, y[:10]), mse)
    with pytest.raises(ValueError, match="no parameters"):
        estimate_llc(torch.nn.ReLU(), (x, y), mse)
    with pytest.raises(ValueError, match="tuple"):
        estimate_llc(model, x, mse)


def test_a_diverging_chain_is_an_error_naming_chain_and_draw(regression) -> None:
    model, data = regression
    with pytest.raises(LLCDivergenceError, match=r"chain \d+ diverged at draw \d+"):
        estimate_llc(model, data, mse, replace(SETTINGS, step_size=10.0, num_draws=100))


def test_the_full_data_pass_is_chunked_by_elements_and_sums_to_the_whole(monkeypatch) -> None:
    """L_n(w*) and ‖∇L_n(w*)‖ come out the same whether the data goes through in one chunk or in
    chunks of a few tokens: a chunk is bounded by input elements (tokens of a sequence row), so
    a token dataset no longer goes through the backward pass whole."""
    from analysis_workers import zoo
    from analysis_workers.llc import sampler

    spec = zoo.example_spec("transformer")
    model = zoo.build(spec, generator=torch.Generator().manual_seed(0))
    generator = torch.Generator().manual_seed(1)
    x = torch.randint(0, spec["config"]["d_vocab"], (10, 3), generator=generator)
    y = torch.randint(0, spec["config"]["d_vocab"], (10,), generator=generator)
    w_star = {name: p.detach() for name, p in model.named_parameters()}
    chunks: list[int] = []

    def loss_fn(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        chunks.append(int(targets.shape[0]))
        return torch.nn.functional.cross_entropy(logits[:, -1], targets)

    whole = sampler._full_data_loss_and_grad(model, x, y, loss_fn, w_star, {}, {}, None)
    assert chunks == [10]
    chunks.clear()
    monkeypatch.setattr(sampler, "FULL_DATA_CHUNK_ELEMENTS", 6)  # two rows of three tokens a chunk
    chunked = sampler._full_data_loss_and_grad(model, x, y, loss_fn, w_star, {}, {}, None)
    assert chunks == [2, 2, 2, 2, 2]
    assert chunked == pytest.approx(whole, rel=1e-5)


def test_chunks_weigh_by_the_targets_they_count_so_padding_changes_nothing(monkeypatch) -> None:
    """Token rows padded with the ignored target (-100, as an uploaded dataset's padding): the
    chunked L_n(w*) is the mean over every counted target, as one pass over all rows gives."""
    from analysis_workers import zoo
    from analysis_workers.llc import sampler

    spec = zoo.example_spec("hf_causal_lm")
    model = zoo.build(spec, generator=torch.Generator().manual_seed(0))
    generator = torch.Generator().manual_seed(2)
    x = torch.randint(0, 64, (6, 8), generator=generator)
    y = torch.randint(0, 64, (6, 8), generator=generator)
    y[0, 1:] = sampler.IGNORED_TARGET  # one counted target in the first row, none in the second
    y[1, :] = sampler.IGNORED_TARGET
    w_star = {name: p.detach() for name, p in model.named_parameters()}

    def loss_fn(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))

    whole = sampler._full_data_loss_and_grad(model, x, y, loss_fn, w_star, {}, {}, None)
    monkeypatch.setattr(sampler, "FULL_DATA_CHUNK_ELEMENTS", 8)  # one row a chunk
    chunked = sampler._full_data_loss_and_grad(model, x, y, loss_fn, w_star, {}, {}, None)
    assert chunked == pytest.approx(whole, rel=1e-5)
