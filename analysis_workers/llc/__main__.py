"""Command line: λ̂ of a checkpoint on a built-in dataset.

    python -m analysis_workers.llc --checkpoint model.safetensors --spec spec.json \\
        --dataset regression --dataset-param n=2000 --dataset-param seed=0 --dataset-param noise=0.1

Prints the estimate and its diagnostics (or JSON with --json), with a progress bar on stderr.
Bad input exits with status 2 and one readable line; a diverging sampler exits with status 3.
The checkpoint is read only through `analysis_workers.zoo.load_checkpoint` (safetensors,
validated against the spec): nothing is unpickled.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm import tqdm

from analysis_workers.llc.sampler import LLCDivergenceError, LLCEstimate, estimate_llc
from analysis_workers.sampler_config import SamplerConfig

LOSSES = {
    "mse": lambda outputs, targets: ((outputs - targets) ** 2).mean(),
    "sse": lambda outputs, targets: ((outputs - targets) ** 2).sum(dim=-1).mean(),
    "cross_entropy": lambda outputs, targets: torch.nn.functional.cross_entropy(
        outputs.reshape(-1, outputs.shape[-1]), targets.reshape(-1)
    ),
}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m analysis_workers.llc", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--checkpoint", required=True, type=Path, help="a .safetensors file")
    parser.add_argument(
        "--spec", required=True, type=Path, help='architecture spec JSON {"family", "config"}'
    )
    parser.add_argument("--dataset", required=True, help="a built-in dataset name")
    parser.add_argument("--dataset-param", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--loss", choices=sorted(LOSSES), default="mse")
    defaults = SamplerConfig()
    parser.add_argument("--chains", type=int, default=defaults.num_chains)
    parser.add_argument("--draws", type=int, default=defaults.num_draws)
    parser.add_argument("--burnin", type=int, default=defaults.num_burnin)
    parser.add_argument("--step-size", type=float, default=defaults.step_size)
    parser.add_argument("--localization", type=float, default=defaults.localization)
    parser.add_argument("--nbeta", type=float, default=defaults.nbeta)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    return parser.parse_args(argv)


def dataset_params(pairs: Sequence[str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--dataset-param takes KEY=VALUE, got {pair!r}")
        try:
            params[key] = json.loads(raw)
        except json.JSONDecodeError:
            params[key] = raw
    return params


def load_model(checkpoint: Path, spec_path: Path) -> tuple[nn.Module, dict[str, Any]]:
    from analysis_workers import zoo  # imported lazily: another package, built separately

    spec = json.loads(spec_path.read_text())
    return zoo.load_checkpoint(spec, checkpoint.read_bytes()), spec


def build_data(
    name: str, params: dict[str, Any], model: nn.Module, spec: dict[str, Any]
) -> tuple[torch.Tensor, torch.Tensor]:
    """`(inputs, targets)`: regression is labelled by the checkpoint itself (so it is a true
    parameter, as the LLC assumes); the other built-in datasets come from their registry."""
    from analysis_workers import datasets

    if not datasets.registry()[name].labelled_by_model:
        return datasets.build(name, params).as_tuple()
    config = spec.get("config", {}) if isinstance(spec, dict) else {}
    in_dim = config.get("in_dim") or (config.get("dims") or [None])[0]
    if not isinstance(in_dim, int):
        raise ValueError("regression needs a model with an input size (mlp or deep_linear)")
    return datasets.build_for_model(name, params, model=model, in_dim=in_dim).as_tuple()


def report(estimate: LLCEstimate, as_json: bool) -> str:
    if as_json:
        return json.dumps(
            {
                "llc_mean": estimate.mean,
                "llc_std": estimate.std,
                "llc_per_chain": estimate.per_chain,
                "init_loss": estimate.init_loss,
                "diagnostics": estimate.diagnostics,
                "reliability": estimate.verdict.as_json(),
            }
        )
    lines = [
        f"λ̂ = {estimate.mean:.4g} ± {estimate.diagnostics['mcse']:.2g} (MCSE); std over chains {estimate.std:.3g}",
        f"per chain: {', '.join(f'{v:.4g}' for v in estimate.per_chain)}",
        f"L_n(w*) = {estimate.init_loss:.6g}",
    ]
    lines += [f"  {key}: {value}" for key, value in estimate.diagnostics.items() if key != "warnings"]
    verdict = estimate.verdict
    lines.append("reliable" if verdict.reliable else "UNRELIABLE: do not quote this λ̂")
    lines += [
        f"  {reason.diagnostic}: {reason.message}; change: {reason.advice}" for reason in verdict.reasons
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        model, spec = load_model(args.checkpoint, args.spec)
        data = build_data(args.dataset, dataset_params(args.dataset_param), model, spec)
        with tqdm(total=100, desc="SGLD", unit="%", file=sys.stderr, disable=None) as bar:

            def progress(fraction: float) -> None:
                bar.update(round(100 * fraction) - bar.n)

            estimate = estimate_llc(
                model,
                data,
                LOSSES[args.loss],
                SamplerConfig(
                    num_chains=args.chains,
                    num_draws=args.draws,
                    num_burnin=args.burnin,
                    step_size=args.step_size,
                    localization=args.localization,
                    nbeta=args.nbeta,
                    batch_size=args.batch_size,
                    seed=args.seed,
                ),
                device=args.device,
                progress=progress,
                emit_warnings=False,
            )
    except LLCDivergenceError as error:
        print(f"error: {error}", file=sys.stderr)
        return 3
    except (ValueError, OSError, RuntimeError) as error:
        print(f"error: {str(error).splitlines()[0] if str(error) else type(error).__name__}", file=sys.stderr)
        return 2
    print(report(estimate, args.json))
    return 0


if __name__ == "__main__":
    sys.exit(main())
