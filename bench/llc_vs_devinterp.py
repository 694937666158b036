"""The LLC engine against devinterp 2.0.1: same models, data, hyperparameters, chains and draws.

devinterp is an optional benchmark extra, never a runtime dependency; in a separate environment:

    python3.11 -m venv devinterp-env
    devinterp-env/bin/pip install torch==2.13.0 && devinterp-env/bin/pip install devinterp==2.0.1 torch==2.13.0 datasets
    devinterp-env/bin/pip install --no-deps -e .

    python bench/llc_vs_devinterp.py --quick --threads 2              # < 60 s: one small model
    python bench/llc_vs_devinterp.py --threads 2                      # CPU suite, 8 chains
    python bench/llc_vs_devinterp.py --suite gpu --device cuda --chains 16 [--tf32 --reference none]

Models are bias-free deep linear networks at a rank-r point (`synthetic.deep_linear_at_rank`), data
n noiseless Gaussian regression rows, loss ‖f(x) − y‖² summed over outputs and averaged over rows.
devinterp's `llc()` takes a `datasets.Dataset` with an `input_ids` column, so each row packs
[x, y] as floats and its per-token `loss_fn(model, input_ids)` returns the row's loss repeated over
the (seq − 1) positions (the same mean). Burn-in is 0 for both, because devinterp 2.0.1 averages
over every step, burn-in included. Differences that remain: devinterp draws minibatches by
shuffling without replacement (the same order for every chain), computes L_n(w*) on 32 batches
and writes its trace to a zarr store; this engine draws rows with replacement per chain and
computes L_n(w*) on all rows.

Throughput is chain-steps per second (chains × steps / wall time of the whole call, L_n(w*)
included, for both); the engine's time is the median of `--repeats` runs after a warm-up,
devinterp's a single run. For the compute-bound models the engine's FLOP/s, counted as
(6P − 2P₁) · B per chain-step (forward 2PB, weight gradients 2PB, activation gradients 2(P − P₁)B
with P₁ the first layer's weights), is compared with a float32 matmul (2048³ on CPU, 8192³ on
CUDA; median of 5) measured in the same run. Without devinterp installed
(`pip install devinterp==2.0.1 torch==<yours>`) the comparison uses a faithful sequential
per-chain reimplementation, labelled "sequential (not devinterp)".
"""

from __future__ import annotations

import argparse
import contextlib
import math
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from analysis_workers.llc import estimate_llc
from analysis_workers.llc.synthetic import deep_linear_at_rank, regression_data
from analysis_workers.sampler_config import SamplerConfig


@dataclass(frozen=True)
class Case:
    name: str
    widths: tuple[int, ...]
    rank: int
    num_samples: int
    batch_size: int
    num_draws: int
    compute_bound: bool = False
    step_size: float | None = None  # overrides --step-size (the widest model diverges at 5e-5)

    @property
    def parameters(self) -> int:
        return sum(a * b for a, b in zip(self.widths, self.widths[1:], strict=False))

    def flops_per_chain_step(self) -> int:
        """Forward 2PB, weight gradients 2PB, activation gradients 2(P − P₁)B (none for the input)."""
        first = self.widths[0] * self.widths[1]
        return (6 * self.parameters - 2 * first) * self.batch_size


QUICK = (Case("DLN 10-20-20-10", (10, 20, 20, 10), 5, 10_000, 64, 30),)
FULL = (
    Case("DLN 10-20-20-10", (10, 20, 20, 10), 5, 10_000, 64, 200),
    Case("DLN 30-60-60-30", (30, 60, 60, 30), 10, 10_000, 64, 200),
    Case("DLN 50-100-100-50", (50, 100, 100, 50), 20, 10_000, 128, 200),
    Case("DLN 256-512-512-256", (256, 512, 512, 256), 64, 10_000, 256, 40, compute_bound=True),
    Case("DLN 256-512-512-256", (256, 512, 512, 256), 64, 10_000, 1024, 20, compute_bound=True),
)
# For a GPU (use with --chains 16): 10k to 8.7M parameters, narrow inputs and outputs (so that
# packing rows into devinterp's dataset costs little) and wide hidden layers; batch 1024 from 1M up.
GPU = (
    Case("DLN 16-64-64-64-16", (16, 64, 64, 64, 16), 8, 10_000, 256, 100),
    Case("DLN 32-256-256-32", (32, 256, 256, 32), 16, 10_000, 256, 100),
    Case("DLN 64-1024-1024-64", (64, 1024, 1024, 64), 32, 10_000, 1024, 100, compute_bound=True),
    Case(
        "DLN 64-2048-2048-2048-64",
        (64, 2048, 2048, 2048, 64),
        32,
        10_000,
        1024,
        100,
        compute_bound=True,
        step_size=2e-6,  # diverges at 5e-5 within 40 draws
    ),
)


def squared_error(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return ((outputs - targets) ** 2).sum(dim=-1).mean()


def run_engine(
    model: nn.Module, data: tuple[torch.Tensor, torch.Tensor], case: Case, args: argparse.Namespace
) -> tuple[float, float]:
    start = time.perf_counter()
    estimate = estimate_llc(
        model,
        data,
        squared_error,
        SamplerConfig(
            num_chains=args.chains,
            num_draws=case.num_draws,
            num_burnin=0,
            step_size=case.step_size or args.step_size,
            localization=args.localization,
            batch_size=case.batch_size,
            seed=0,
        ),
        device=args.device,
        emit_warnings=False,
    )
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - start, estimate.mean


def run_devinterp(
    model: nn.Module, data: tuple[torch.Tensor, torch.Tensor], case: Case, args: argparse.Namespace
) -> tuple[float, float]:
    from datasets import Dataset
    from devinterp.slt.llc import llc

    x, y = data
    d_in = x.shape[1]
    packed = Dataset.from_dict({"input_ids": torch.cat([x, y], dim=1).tolist()}).with_format("torch")

    def loss_fn(net: nn.Module, input_ids: torch.Tensor) -> torch.Tensor:
        rows = input_ids.float()
        per_row = ((net(rows[:, :d_in]) - rows[:, d_in:]) ** 2).sum(dim=-1)  # (batch,)
        return per_row[:, None].expand(-1, rows.shape[1] - 1)  # (batch, seq - 1), same mean

    nbeta = x.shape[0] / math.log(x.shape[0])
    with tempfile.TemporaryDirectory() as folder, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        result = llc(
            model,
            packed,
            {},
            lr=case.step_size or args.step_size,
            n_beta=nbeta,
            localization=args.localization,
            loss_fn=loss_fn,
            num_chains=args.chains,
            num_draws=case.num_draws,
            num_burnin_steps=0,
            batch_size=case.batch_size,
            device=args.device,
            output_path=f"{folder}/samples.zarr",
        )
        value = float(result["llc_mean"])
        return time.perf_counter() - start, value


def run_sequential(
    model: nn.Module, data: tuple[torch.Tensor, torch.Tensor], case: Case, args: argparse.Namespace
) -> tuple[float, float]:
    """One chain after another with torch.optim-style per-parameter updates (devinterp's SGLD loop)."""
    x, y = data[0].to(args.device), data[1].to(args.device)
    n = x.shape[0]
    nbeta = n / math.log(n)
    generator = torch.Generator(device=args.device).manual_seed(0)
    with torch.no_grad():
        init_loss = float(squared_error(model.to(args.device)(x), y))
    start = time.perf_counter()
    per_chain = []
    for _ in range(args.chains):
        chain = _copy(model).to(args.device)
        anchors = [p.detach().clone() for p in chain.parameters()]
        total = 0.0
        for _ in range(case.num_draws):
            rows = torch.randint(0, n, (case.batch_size,), generator=generator, device=args.device)
            loss = squared_error(chain(x[rows]), y[rows])
            chain.zero_grad(set_to_none=True)
            loss.backward()
            with torch.no_grad():
                for p, anchor in zip(chain.parameters(), anchors, strict=True):
                    assert p.grad is not None
                    drift = nbeta * p.grad + args.localization * (p - anchor)
                    noise = torch.randn(p.shape, generator=generator, device=args.device)
                    p.add_(drift, alpha=-0.5 * args.step_size).add_(noise, alpha=math.sqrt(args.step_size))
            if not torch.isfinite(loss):
                raise RuntimeError("diverged")
            total += float(loss)  # a host sync per step, as in devinterp's NaN check
        per_chain.append(nbeta * (total / case.num_draws - init_loss))
    return time.perf_counter() - start, sum(per_chain) / len(per_chain)


def _copy(model: nn.Module) -> nn.Module:
    import copy

    return copy.deepcopy(model)


def matmul_flops(device: str, size: int, repeats: int = 10, trials: int = 5) -> float:
    """Median over `trials` of a size³ float32 matmul rate (TF32 if the backend allows it)."""
    generator = torch.Generator(device=device).manual_seed(0)
    a = torch.randn(size, size, device=device, generator=generator)
    b = torch.randn(size, size, device=device, generator=generator)
    rates = []
    for _ in range(trials + 1):  # the first trial warms up
        _sync(device)
        start = time.perf_counter()
        for _ in range(repeats):
            a @ b
        _sync(device)
        rates.append(2 * size**3 * repeats / (time.perf_counter() - start))
    return sorted(rates[1:])[trials // 2]


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="one small model, 30 draws (< 60 s)")
    parser.add_argument("--suite", choices=("cpu", "gpu"), default="cpu", help="the model sizes to run")
    parser.add_argument("--only", default="", help="run only the models whose name contains this")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--tf32", action="store_true", help="allow TF32 matmuls on CUDA")
    parser.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: torch's default)")
    parser.add_argument("--chains", type=int, default=8)
    parser.add_argument("--step-size", type=float, default=5e-5)
    parser.add_argument("--localization", type=float, default=10.0)
    parser.add_argument("--reference", choices=("devinterp", "sequential", "none"), default="devinterp")
    parser.add_argument("--repeats", type=int, default=3, help="engine runs per case (median)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.tf32:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    reference: Callable[
        [nn.Module, tuple[torch.Tensor, torch.Tensor], Case, argparse.Namespace], tuple[float, float]
    ]
    label = "devinterp 2.0.1"
    reference = run_devinterp
    if args.reference == "none":
        reference, label = _no_reference, "no reference"
    elif args.reference == "sequential" or not _has_devinterp():
        reference, label = run_sequential, "sequential (not devinterp)"
    size = 8192 if args.device.startswith("cuda") else 2048
    peak = matmul_flops(args.device, size=size)
    print(
        f"device {args.device}, torch threads {torch.get_num_threads()}, chains {args.chains}, "
        f"ε {args.step_size:g}, γ {args.localization:g}, nβ = n/log n; reference: {label}"
    )
    tf32 = " (TF32 allowed)" if args.tf32 else ""
    print(f"float32 matmul {size}³{tf32}: {peak / 1e9:.1f} GFLOP/s\n")
    print(
        f"| model | params | batch | draws | engine s | {label} s | engine chain-steps/s | reference chain-steps/s "
        "| speed-up | λ̂ engine | λ̂ reference | engine GFLOP/s (share of matmul) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    cases = QUICK if args.quick else (GPU if args.suite == "gpu" else FULL)
    for case in (c for c in cases if args.only in c.name):
        generator = torch.Generator().manual_seed(0)
        model = deep_linear_at_rank(case.widths, case.rank, generator=generator)
        data = regression_data(model, case.num_samples, case.widths[0], generator=generator)
        run_engine(
            model, data, Case(case.name, case.widths, case.rank, case.num_samples, case.batch_size, 5), args
        )  # warm-up
        runs = sorted(run_engine(model, data, case, args) for _ in range(args.repeats))
        engine_s, engine_llc = runs[len(runs) // 2]
        reference_s, reference_llc = reference(model, data, case, args)
        steps = args.chains * case.num_draws
        flops = case.flops_per_chain_step() * steps / engine_s
        share = f"{flops / 1e9:.1f} ({flops / peak:.0%})" if case.compute_bound else f"{flops / 1e9:.2f}"
        print(
            f"| {case.name} | {case.parameters} | {case.batch_size} | {case.num_draws} | {engine_s:.2f} | {reference_s:.2f} "
            f"| {steps / engine_s:.0f} | {steps / reference_s:.0f} | {reference_s / engine_s:.1f}× "
            f"| {engine_llc:.2f} | {reference_llc:.2f} | {share} |",
            flush=True,
        )


def _no_reference(
    model: nn.Module, data: tuple[torch.Tensor, torch.Tensor], case: Case, args: argparse.Namespace
) -> tuple[float, float]:
    return float("nan"), float("nan")


def _has_devinterp() -> bool:
    with contextlib.suppress(ImportError):
        import devinterp  # noqa: F401

        return True
    return False


if __name__ == "__main__":
    main()
