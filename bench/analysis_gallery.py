"""Every analysis kind on the demo models: one image per analysis for docs/analyses.md, and what
each costs on this CPU.

    python bench/analysis_gallery.py            # writes docs/gallery/*.png, prints the cost table
    python bench/analysis_gallery.py --threads 2

Models: the demo's modular-addition transformer (1 layer, 56,886 parameters, (a + b) mod 53,
trained 1,000 steps with 11 checkpoints) for the modular-addition kinds and the series kinds,
and a two-layer attention-only transformer trained on repeated random sequences (induction heads)
for the attention kinds. Each runner is called as the worker calls it (`JobInputs`), with the
registry's default parameters except where the table says otherwise, and timed once after a
warm-up of the same call on the smallest input.
"""

from __future__ import annotations

import argparse
import importlib
import time
from pathlib import Path
from typing import Any

import torch

from analysis_workers import datasets
from analysis_workers.demo.induction import InductionConfig, train_induction
from analysis_workers.demo.modular_addition import ModularAdditionConfig, train_modular_addition
from analysis_workers.kinds import registry, validate_params
from analysis_workers.runners.inputs import JobInputs
from analysis_workers.specs import ArchitectureSpec, family_named
from analysis_workers.zoo.transformer import Transformer

GALLERY = Path(__file__).resolve().parents[1] / "docs" / "gallery"
SGLD = {"num_chains": 4, "num_draws": 200, "num_burnin": 50, "step_size": 1e-4, "localization": 100.0}


def _series(run: Any) -> list[Transformer]:
    models = []
    for _, state in run.checkpoints:
        model = Transformer(run.model.config)
        model.load_state_dict(state)
        models.append(model)
    return models


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    GALLERY.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    modadd = train_modular_addition(ModularAdditionConfig(checkpoint_every=100))
    print(f"trained modular addition in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    induction = train_induction(InductionConfig())
    print(f"trained induction model in {time.perf_counter() - started:.1f} s")
    transformer = family_named("transformer")
    mod_spec = ArchitectureSpec(transformer, modadd.model.config)
    ind_spec = ArchitectureSpec(transformer, induction.model.config)
    mod_data = datasets.build("modular_addition", {"p": 53, "train_fraction": 0.5, "seed": 3})
    ind_config = induction.config
    ind_data = datasets.build(
        "induction_sequences",
        {
            "n": 256,
            "vocab_size": ind_config.d_vocab,
            "seq_len": ind_config.n_ctx,
            "min_period": ind_config.min_period,
            "max_period": ind_config.max_period,
            "seed": 1,
        },
    )
    mod_series = _series(modadd)
    print("\n| kind | model | inputs | parameters changed | seconds | scales with |")
    print("|---|---|---|---|---|---|")
    scaling = {
        "llc": "chains × draws × (forward + backward of a minibatch); vectorised over chains",
        "llc_trajectory": "checkpoints × the llc cost",
        "attention_patterns": "one forward pass; prompts × n_ctx² × heads",
        "head_ablation": "layers × heads forward passes",
        "logit_lens": "one forward pass with hooks; layers readouts",
        "activation_patching": "layers × positions + layers × heads forward passes (attribution: 2 forward + 1 backward)",
        "linear_probes": "one forward pass + a least-squares fit per layer",
        "essential_dynamics": "checkpoints forward passes + an SVD of checkpoints × outputs, plus the llc_trajectory cost",
        "grokking_progress": "checkpoints × (a p × p Fourier transform of the embedding + two forward passes)",
    }
    for name, kind in registry().items():
        induction_kind = name in ("attention_patterns", "head_ablation", "logit_lens")
        spec, data = (ind_spec, ind_data) if induction_kind else (mod_spec, mod_data)
        models = (mod_series if kind.series else [modadd.model]) if not induction_kind else [induction.model]
        overrides = {k: v for k, v in SGLD.items() if k in kind.params_schema}
        if name == "llc_trajectory" or name == "essential_dynamics":
            overrides["num_draws"] = 100
        params = validate_params(name, overrides)
        module, function = kind.runner.split(":")
        runner = getattr(importlib.import_module(module), function)
        labels = [str(step) for step, _ in modadd.checkpoints] if kind.series else ["final"]
        inputs = JobInputs(spec, models, labels, data, params, lambda fraction: None)
        started = time.perf_counter()
        report = runner(inputs)
        seconds = time.perf_counter() - started
        for plot in kind.plots:
            (GALLERY / f"{name}-{plot}.png").write_bytes(report.png_bytes(plot, dpi=70))
        model_name = "induction (2-layer attn-only)" if induction_kind else "modular addition"
        changed = ", ".join(f"{k}={v}" for k, v in overrides.items()) or "defaults"
        print(
            f"| {name} | {model_name} | {len(models)} checkpoint(s) | {changed} | {seconds:.2f} | {scaling[name]} |"
        )


if __name__ == "__main__":
    main()
