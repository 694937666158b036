"""Weight- and data-restricted LLC: which weights move, which rows count, and bad selections."""

from __future__ import annotations

import pytest
import torch

from analysis_workers.llc import component_masks, estimate_llc, head_mask, parse_component
from analysis_workers.llc.restriction import Component, restrict_data, select_weights
from analysis_workers.sampler_config import SamplerConfig
from analysis_workers.zoo.transformer import Transformer, TransformerConfig


def mse(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return ((outputs - targets) ** 2).sum(-1).mean()


def linear_problem(seed: int = 0) -> tuple[torch.nn.Module, tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3, bias=False), torch.nn.Linear(3, 2, bias=False))
    x = torch.randn(2000, 4, generator=g)
    return model, (x, model(x).detach())


def test_head_mask_selects_one_heads_rows_of_each_fused_block() -> None:
    mask = head_mask((12, 5), head=1, num_heads=2, num_fused=3)  # fused QKV, d_head = 2
    assert mask.shape == (12, 5) and mask.dtype == torch.bool
    assert mask[:, 0].nonzero().squeeze(1).tolist() == [2, 3, 6, 7, 10, 11]
    assert bool(mask.all(dim=1).eq(mask.any(dim=1)).all())  # whole rows
    with pytest.raises(ValueError, match="does not split"):
        head_mask((10, 5), head=0, num_heads=3)


def test_a_weight_mask_freezes_every_other_element() -> None:
    model, data = linear_problem()
    mask = torch.zeros(3, 4, dtype=torch.bool)
    mask[0] = True
    estimate = estimate_llc(
        model,
        data,
        mse,
        SamplerConfig(num_draws=30, num_burnin=0, diagnose_steps=True),
        weight_masks={"0.weight": mask},
        emit_warnings=False,
    )
    assert estimate.diagnostics["sampled_parameters"] == 4
    assert estimate.step_norms is not None
    # the per-step noise has exactly 4 non-zero coordinates: ‖η‖² / ε ≈ χ²(4), mean 4
    squared = (estimate.step_norms["noise"] ** 2 / 1e-4).mean()
    assert float(squared) == pytest.approx(4.0, rel=0.35)


def test_restricting_by_name_counts_only_matching_parameters() -> None:
    model, _ = linear_problem()
    selection = select_weights(model, ["1.*"], None)
    assert selection.names == ("1.weight",)
    with pytest.raises(ValueError, match="no parameter matches"):
        select_weights(model, ["2.*"], None)
    with pytest.raises(ValueError, match="not a parameter"):
        select_weights(model, None, {"nope": torch.ones(1, dtype=torch.bool)})
    with pytest.raises(ValueError, match="boolean tensor of shape"):
        select_weights(model, None, {"0.weight": torch.ones(2, 2, dtype=torch.bool)})
    with pytest.raises(ValueError, match="selects no element"):
        select_weights(model, None, {"0.weight": torch.zeros(3, 4, dtype=torch.bool)})


def test_a_data_subset_changes_n_and_the_default_nbeta() -> None:
    model, data = linear_problem()
    half = torch.arange(2000) % 2 == 0
    estimate = estimate_llc(
        model, data, mse, SamplerConfig(num_draws=20, num_burnin=0), data_subset=half, emit_warnings=False
    )
    assert estimate.diagnostics["num_samples"] == 1000
    assert estimate.diagnostics["nbeta"] == pytest.approx(1000 / torch.log(torch.tensor(1000.0)).item())
    x, y = restrict_data(*data, [0, 5, 7])
    assert torch.equal(x, data[0][[0, 5, 7]]) and y.shape == (3, 2)
    with pytest.raises(ValueError, match="shape"):
        restrict_data(*data, torch.ones(3, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"\[0, 2000\)"):
        restrict_data(*data, [2000])


def test_data_confined_to_a_subspace_lowers_a_regular_models_llc() -> None:
    """A tiny regular case: Linear(4→2) has λ = 4; inputs in a 1-dim subspace give λ = 1."""
    g = torch.Generator().manual_seed(3)
    model = torch.nn.Sequential(torch.nn.Linear(4, 2, bias=False))
    direction = torch.randn(4, 1, generator=g)
    x = torch.cat([torch.randn(3000, 4, generator=g), torch.randn(3000, 1, generator=g) @ direction.T])
    data = (x, model(x).detach())
    settings = SamplerConfig(num_chains=4, num_draws=300, num_burnin=100, step_size=1e-4, localization=10.0)
    full = estimate_llc(model, data, mse, settings, data_subset=torch.arange(3000), emit_warnings=False)
    confined = estimate_llc(
        model, data, mse, settings, data_subset=torch.arange(3000, 6000), emit_warnings=False
    )
    assert full.mean == pytest.approx(4.0, rel=0.25)
    assert confined.mean == pytest.approx(1.0, rel=0.35)


def test_components_parse_in_devinterps_grammar() -> None:
    assert parse_component("l0h1") == Component("head", 0, 1)
    assert parse_component("l12g3") == Component("group", 12, 3)
    assert parse_component("l2 attn") == Component("attn", 2)
    assert parse_component("l2 mlp") == Component("mlp", 2)
    assert parse_component("unembed") == Component("unembed")
    for bad in ("l0 h1", "L0H1", "l0h", "attn", "l0  mlp", "embedding"):
        with pytest.raises(ValueError, match="is not a component"):
            parse_component(bad)


def test_a_zoo_transformer_head_is_its_slice_of_every_per_head_weight() -> None:
    config = TransformerConfig(d_vocab=11, n_ctx=8, d_model=16, n_heads=2, d_head=8, d_mlp=32, n_layers=2)
    model = Transformer(config, generator=torch.Generator().manual_seed(0))
    masks = component_masks(model, ["l1h1"])
    per_head = ("W_Q", "W_K", "W_V", "W_O", "b_Q", "b_K", "b_V")
    assert sorted(masks) == sorted(f"blocks.1.attn.{weight}" for weight in per_head)
    for weight in per_head:
        mask = masks[f"blocks.1.attn.{weight}"]
        assert bool(mask[1].all()) and not bool(mask[0].any())
    attn = component_masks(model, ["l0 attn"])
    assert sorted(attn) == sorted([*(f"blocks.0.attn.{w}" for w in per_head), "blocks.0.attn.b_O"])
    assert sorted(component_masks(model, ["embed", "pos_embed", "unembed"])) == [
        "embed.W_E",
        "pos_embed.W_pos",
        "unembed.W_U",
        "unembed.b_U",
    ]
    with pytest.raises(ValueError, match="no key/value groups"):
        component_masks(model, ["l0g0"])
    attn_only = Transformer(
        TransformerConfig(
            d_vocab=11, n_ctx=8, d_model=16, n_heads=2, d_head=8, d_mlp=0, n_layers=1, attn_only=True
        )
    )
    with pytest.raises(ValueError, match="has no MLP"):
        component_masks(attn_only, ["l0 mlp"])
    with pytest.raises(ValueError, match="no known component layout"):
        component_masks(torch.nn.Linear(2, 2), ["l0h0"])
