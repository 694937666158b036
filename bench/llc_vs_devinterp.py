"""The LLC engine against devinterp 2.0.1: same models, data, hyperparameters, chains and draws.

devinterp is an optional benchmark extra, never a runtime dependency; in a separate environment:

    python3.11 -m venv devinterp-env
    devinterp-env/bin/pip install torch==2.13.0
    devinterp-env/bin/pip install devinterp==2.0.1 torch==2.13.0 datasets transformers==5.25.0 \
        "matplotlib>=3.9,<3.12" "safetensors>=0.4.5,<0.9"
    devinterp-env/bin/pip install --no-deps -e .

    python bench/llc_vs_devinterp.py --quick --threads 2              # < 60 s: one small model
    python bench/llc_vs_devinterp.py --threads 2                      # CPU suite, 8 chains
    python bench/llc_vs_devinterp.py --suite gpu --device cuda --chains 16 [--tf32 --reference none]
    python bench/llc_vs_devinterp.py --suite hf --threads 2 --chains 4 [--quick]
    python bench/llc_vs_devinterp.py --suite hf --device cuda --chains 16

Suites `cpu` and `gpu`: bias-free deep linear networks at a rank-r point
(`synthetic.deep_linear_at_rank`), data n noiseless Gaussian regression rows, loss ‖f(x) − y‖²
summed over outputs and averaged over rows. devinterp's `llc()` takes a `datasets.Dataset` with an
`input_ids` column, so each row packs [x, y] as floats and its per-token `loss_fn(model, input_ids)`
returns the row's loss repeated over the (seq − 1) positions (the same mean).

Suite `hf`: Hugging Face GPT-2 models (`GPT2LMHeadModel` built offline from a `GPT2Config`, eager
attention, no dropout, tied embeddings) of about 0.1M, 1M and 10M parameters, trained briefly with
Adam on n sequences of 32 tokens from the platform's induction language
(`analysis_workers.datasets.induction` with period 16: a random prefix of 16 distinct tokens out of
128, then the same 16 again), so that w* is near a minimum of L_n (the first half is unpredictable
except through memorised bigrams, the second half is a copy). The loss is next-token cross-entropy
averaged over every position of every sequence. The engine samples a wrapper whose forward(input_ids)
returns the logits, with data (tokens[:, :-1], tokens[:, 1:]); devinterp samples the GPT2LMHeadModel
itself with the token rows as `input_ids` and its own per-token cross-entropy (the same mean), and
computes its L_n(w*) on n / batch batches, i.e. on every row, as the engine does.

Burn-in is 0 for both, because devinterp 2.0.1 averages over every step, burn-in included.
devinterp runs with `match_sampling_input_ids_across_chains=False`, so that its chains, like the
engine's, see independent minibatches and the Monte Carlo standard error (MCSE, from the λ̂ trace's
effective sample size, `llc.diagnostics.mcse`, for both) is valid; its speed does not depend on
it. Differences that remain: devinterp draws minibatches by shuffling without replacement (and
replays the first epoch's order), computes L_n(w*) once per chain (on 32 batches for the deep
linear networks) and writes its trace to a zarr store; this engine draws rows with replacement per
chain and computes L_n(w*) (and ‖∇L_n(w*)‖, a diagnostic) once, on all rows. |Δ| / σ is
|λ̂_engine − λ̂_reference| over √(MCSE_engine² + MCSE_reference²).

Throughput is chain-steps per second (chains × steps / wall time of the whole call, L_n(w*)
included, for both). The engine runs once as a warm-up, then the engine and the reference
alternate (`--repeats` and `--reference-repeats` runs), so that both see the same background
load; the table shows the median run (the faster middle one for an even count) and every run of
one implementation gives the same λ̂ (one seed). FLOP/s
counts, per chain-step, (6P − 2P₁) · B for a deep linear network (forward 2PB, weight gradients
2PB, activation gradients 2(P − P₁)B with P₁ the first layer's weights) and 3 × the forward's
matmul FLOPs for GPT-2 (B(T − 1) tokens through 24Ld² + 4L(T − 1)d + 2dV each), compared with a
float32 matmul (2048³ on CPU, 1024³ with --quick, 8192³ on CUDA; median of 5) measured in the same
run. Peak memory is the growth of the resident set during the call on CPU (polled every 10 ms, after
`malloc_trim` has handed freed heap back, so that it tracks the call's live tensors), of allocated
memory on CUDA. Without devinterp installed the comparison uses a faithful sequential per-chain
reimplementation, labelled "sequential (not devinterp)".
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import ctypes
import gc
import math
import os
import statistics
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from analysis_workers.llc import estimate_llc
from analysis_workers.llc.diagnostics import mcse
from analysis_workers.llc.synthetic import deep_linear_at_rank, regression_data
from analysis_workers.sampler_config import SamplerConfig

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
PerTokenLoss = Callable[[nn.Module, torch.Tensor], torch.Tensor]  # devinterp's (model, input_ids) -> (B, T-1)


@dataclass(frozen=True)
class Problem:
    """One model at w*, its data, and how each implementation receives them.

    `model`, `data` and `loss_fn(outputs, targets)` (the mean loss) are what `estimate_llc` and the
    sequential loop take; `reference_model` (the same weights), `reference_rows` (devinterp's
    `input_ids` rows) and `reference_loss` (per token; None: devinterp's own language-model
    cross-entropy) are what devinterp's `llc()` takes.
    """

    name: str
    parameters: int
    model: nn.Module
    data: tuple[torch.Tensor, torch.Tensor]
    loss_fn: LossFn
    reference_model: nn.Module
    reference_rows: torch.Tensor
    reference_loss: PerTokenLoss | None
    reference_init_batches: int | None  # devinterp's num_init_loss_batches (None: its default, 32)
    batch_size: int
    batch_label: str
    num_draws: int
    step_size: float
    localization: float
    flops_per_chain_step: int
    compute_bound: bool

    @property
    def num_samples(self) -> int:
        return self.data[0].shape[0]

    @property
    def nbeta(self) -> float:
        return self.num_samples / math.log(self.num_samples)


@dataclass(frozen=True)
class Run:
    """One call of one implementation: wall and process-CPU seconds, λ̂, its MCSE, peak memory
    growth (bytes). CPU seconds count every thread of the process (devinterp's zarr writers too)."""

    seconds: float
    cpu_seconds: float
    llc: float
    mcse: float
    peak_bytes: float


# --- deep linear networks (suites cpu and gpu) -------------------------------------------------


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
DLN_STEP_SIZE, DLN_LOCALIZATION = 5e-5, 10.0


def squared_error(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return ((outputs - targets) ** 2).sum(dim=-1).mean()


def deep_linear_problem(case: Case, args: argparse.Namespace) -> Problem:
    generator = torch.Generator().manual_seed(0)
    model = deep_linear_at_rank(case.widths, case.rank, generator=generator)
    x, y = regression_data(model, case.num_samples, case.widths[0], generator=generator)
    d_in = x.shape[1]

    def packed_loss(net: nn.Module, input_ids: torch.Tensor) -> torch.Tensor:
        rows = input_ids.float()
        per_row = ((net(rows[:, :d_in]) - rows[:, d_in:]) ** 2).sum(dim=-1)  # (batch,)
        return per_row[:, None].expand(-1, rows.shape[1] - 1)  # (batch, seq - 1), same mean

    return Problem(
        name=case.name,
        parameters=case.parameters,
        model=model,
        data=(x, y),
        loss_fn=squared_error,
        reference_model=model,
        reference_rows=torch.cat([x, y], dim=1),
        reference_loss=packed_loss,
        reference_init_batches=None,
        batch_size=case.batch_size,
        batch_label=str(case.batch_size),
        num_draws=case.num_draws,
        step_size=case.step_size or _or(args.step_size, DLN_STEP_SIZE),
        localization=_or(args.localization, DLN_LOCALIZATION),
        flops_per_chain_step=case.flops_per_chain_step(),
        compute_bound=case.compute_bound,
    )


# --- GPT-2 from transformers (suite hf) ----------------------------------------------------------


@dataclass(frozen=True)
class GPT2Case:
    """A GPT-2 shape and how briefly to train it; vocabulary and context are the suite's."""

    name: str
    n_embd: int
    n_layer: int
    n_head: int
    num_samples: int
    batch_size: int
    num_draws: int
    train_steps: int
    train_lr: float
    train_batch: int


GPT2_VOCAB, GPT2_SEQ = 128, 32  # seq tokens per row; the loss covers its seq − 1 next-token targets
GPT2_PERIOD = 16  # a random prefix of 16 distinct tokens, then the same 16 again
GPT2_STEP_SIZE, GPT2_LOCALIZATION = 1e-4, 1000.0
HF_QUICK = (
    GPT2Case(
        "GPT-2 d64 L2", 64, 2, 4, 1024, 32, num_draws=20, train_steps=100, train_lr=3e-3, train_batch=64
    ),
)
HF = (
    GPT2Case(
        "GPT-2 d64 L2", 64, 2, 4, 1024, 32, num_draws=100, train_steps=400, train_lr=3e-3, train_batch=64
    ),
    GPT2Case(
        "GPT-2 d128 L5", 128, 5, 4, 1024, 32, num_draws=50, train_steps=300, train_lr=1e-3, train_batch=32
    ),
    # n = 512: the engine's L_n(w*)-and-gradient pass holds every row's activations at once
    # (about 12 GiB at n = 1024 for this model). A minute of training leaves it near its initial
    # loss: 12 layers need more steps to leave the plateau than a bench should spend.
    GPT2Case(
        "GPT-2 d256 L12", 256, 12, 4, 512, 32, num_draws=20, train_steps=60, train_lr=5e-4, train_batch=16
    ),
)


class NextTokenLogits(nn.Module):
    """forward(input_ids) → logits (batch, seq, vocab): the form `estimate_llc` samples."""

    def __init__(self, lm: nn.Module) -> None:
        super().__init__()
        self.lm = lm

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        logits: torch.Tensor = self.lm(input_ids=input_ids, use_cache=False, return_dict=False)[0]
        return logits


def next_token_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over every (row, position): (B, T, V) logits, (B, T) targets."""
    return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


def gpt2_problem(case: GPT2Case, args: argparse.Namespace) -> Problem:
    """Build the GPT-2 offline from a config, train it briefly, return it at w*."""
    from transformers import GPT2Config, GPT2LMHeadModel

    from analysis_workers.datasets.induction import induction_sequences

    config = GPT2Config(
        vocab_size=GPT2_VOCAB,
        n_positions=GPT2_SEQ,
        n_embd=case.n_embd,
        n_layer=case.n_layer,
        n_head=case.n_head,
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        bos_token_id=0,
        eos_token_id=0,
    )
    config._attn_implementation = "eager"  # the constructor's keyword is not in its signature
    torch.manual_seed(0)  # transformers initialises weights from the global generator
    lm = GPT2LMHeadModel(config)
    if lm.config._attn_implementation != "eager":
        raise RuntimeError(f"expected eager attention, got {lm.config._attn_implementation}")
    model = NextTokenLogits(lm)
    data = induction_sequences(
        n=case.num_samples,
        vocab_size=GPT2_VOCAB,
        seq_len=GPT2_SEQ,
        min_period=GPT2_PERIOD,
        max_period=GPT2_PERIOD,
        seed=0,
    )
    inputs, targets = data.as_tuple()
    start = time.perf_counter()
    final = train_briefly(model, inputs, targets, case, args.device)
    print(
        f"{case.name}: trained {case.train_steps} Adam steps (lr {case.train_lr:g}, batch {case.train_batch}) "
        f"in {time.perf_counter() - start:.0f} s; L_n(w*) = {final:.3f} nats "
        f"(uniform: {math.log(GPT2_VOCAB):.3f})",
        flush=True,
    )
    model.eval()
    tokens = data.extras["tokens"]  # (n, seq)
    d, layers, context = case.n_embd, case.n_layer, GPT2_SEQ - 1
    forward_per_token = 24 * layers * d * d + 4 * layers * context * d + 2 * d * GPT2_VOCAB
    return Problem(
        name=case.name,
        parameters=sum(p.numel() for p in model.parameters()),
        model=model,
        data=(inputs, targets),
        loss_fn=next_token_cross_entropy,
        reference_model=lm,
        reference_rows=tokens,
        reference_loss=None,
        reference_init_batches=case.num_samples // case.batch_size,  # L_n(w*) on every row
        batch_size=case.batch_size,
        batch_label=f"{case.batch_size}×{GPT2_SEQ}",
        num_draws=case.num_draws,
        step_size=_or(args.step_size, GPT2_STEP_SIZE),
        localization=_or(args.localization, GPT2_LOCALIZATION),
        flops_per_chain_step=3 * forward_per_token * case.batch_size * context,
        compute_bound=True,
    )


def train_briefly(
    model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, case: GPT2Case, device: str
) -> float:
    """A few hundred Adam steps on minibatches of the data, on `device`; leaves the model on the CPU
    and returns the full-data loss after."""
    generator = torch.Generator().manual_seed(1)
    model.to(device).train()
    x, y = inputs.to(device), targets.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=case.train_lr)
    for _ in range(case.train_steps):
        rows = torch.randint(0, x.shape[0], (case.train_batch,), generator=generator).to(device)
        loss = next_token_cross_entropy(model(x[rows]), y[rows])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        final = float(next_token_cross_entropy(model(x), y))
    model.to("cpu")
    return final


# --- the implementations -------------------------------------------------------------------------


def run_engine(problem: Problem, args: argparse.Namespace, *, num_draws: int | None = None) -> Run:
    config = SamplerConfig(
        num_chains=args.chains,
        num_draws=num_draws or problem.num_draws,
        num_burnin=0,
        step_size=problem.step_size,
        localization=problem.localization,
        batch_size=problem.batch_size,
        seed=0,
    )
    with PeakMemory(args.device) as memory, Clock() as clock:
        estimate = estimate_llc(
            problem.model, problem.data, problem.loss_fn, config, device=args.device, emit_warnings=False
        )
        _sync(args.device)
    return Run(clock.wall, clock.cpu, estimate.mean, float(estimate.diagnostics["mcse"]), memory.peak)


def run_devinterp(problem: Problem, args: argparse.Namespace) -> Run:
    from datasets import Dataset
    from devinterp.slt.llc import llc

    rows = Dataset.from_dict({"input_ids": problem.reference_rows.tolist()}).with_format("torch")
    init_batches = {}
    if problem.reference_init_batches is not None:
        init_batches["num_init_loss_batches"] = problem.reference_init_batches
    with (
        tempfile.TemporaryDirectory() as folder,
        warnings.catch_warnings(),
        PeakMemory(args.device) as memory,
    ):
        warnings.simplefilter("ignore")
        with Clock() as clock:
            result = llc(
                problem.reference_model,
                rows,
                {},
                lr=problem.step_size,
                n_beta=problem.nbeta,
                localization=problem.localization,
                loss_fn=problem.reference_loss,
                num_chains=args.chains,
                num_draws=problem.num_draws,
                num_burnin_steps=0,
                **init_batches,
                batch_size=problem.batch_size,
                match_sampling_input_ids_across_chains=False,
                device=args.device,
                output_path=f"{folder}/samples.zarr",
            )
            value = float(result["llc_mean"])
        losses = torch.as_tensor(result["loss_trace"].values, dtype=torch.float64)  # (chain, step)
        trace = problem.nbeta * (losses - float(result["init_loss"]))
    return Run(clock.wall, clock.cpu, value, mcse(trace), memory.peak)


def run_sequential(problem: Problem, args: argparse.Namespace) -> Run:
    """One chain after another with torch.optim-style per-parameter updates (devinterp's SGLD loop)."""
    x, y = problem.data[0].to(args.device), problem.data[1].to(args.device)
    n, nbeta, eps, gamma = x.shape[0], problem.nbeta, problem.step_size, problem.localization
    generator = torch.Generator(device=args.device).manual_seed(0)
    with PeakMemory(args.device) as memory, Clock() as clock:
        with torch.no_grad():
            init_loss = float(problem.loss_fn(problem.model.to(args.device)(x), y))
        trace = torch.empty(args.chains, problem.num_draws, dtype=torch.float64)
        for c in range(args.chains):
            chain = copy.deepcopy(problem.model).to(args.device)
            anchors = [p.detach().clone() for p in chain.parameters()]
            for t in range(problem.num_draws):
                rows = torch.randint(0, n, (problem.batch_size,), generator=generator, device=args.device)
                loss = problem.loss_fn(chain(x[rows]), y[rows])
                chain.zero_grad(set_to_none=True)
                loss.backward()
                with torch.no_grad():
                    for p, anchor in zip(chain.parameters(), anchors, strict=True):
                        if p.grad is None:
                            raise RuntimeError("a sampled parameter got no gradient")
                        drift = nbeta * p.grad + gamma * (p - anchor)
                        noise = torch.randn(p.shape, generator=generator, device=args.device)
                        p.add_(drift, alpha=-0.5 * eps).add_(noise, alpha=math.sqrt(eps))
                if not torch.isfinite(loss):
                    raise RuntimeError("diverged")
                trace[c, t] = float(loss.detach())  # a host sync per step, as in devinterp's NaN check
    llc_trace = nbeta * (trace - init_loss)
    return Run(clock.wall, clock.cpu, float(llc_trace.mean()), mcse(llc_trace), memory.peak)


def _no_reference(problem: Problem, args: argparse.Namespace) -> Run:
    return Run(float("nan"), float("nan"), float("nan"), float("nan"), float("nan"))


class Clock:
    """Wall and process-CPU seconds of a `with` block (CPU time is what other processes on a
    shared machine change least)."""

    wall = cpu = float("nan")

    def __enter__(self) -> Clock:
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu


class PeakMemory:
    """Peak growth of process memory during a `with` block: resident set on CPU (polled from
    /proc/self/statm every 10 ms by a thread; NaN where there is no /proc), allocated memory on CUDA."""

    def __init__(self, device: str) -> None:
        self._cuda = device.startswith("cuda")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._start = self._max = 0
        self.peak = float("nan")

    def __enter__(self) -> PeakMemory:
        if self._cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self._start = torch.cuda.memory_allocated()
        elif os.path.exists("/proc/self/statm"):
            gc.collect()
            _trim_heap()  # give freed heap back, so that reusing it shows as growth
            self._start = self._max = _resident_bytes()
            self._thread = threading.Thread(target=self._poll, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._cuda:
            torch.cuda.synchronize()
            self.peak = float(torch.cuda.max_memory_allocated() - self._start)
        elif self._thread is not None:
            self._stop.set()
            self._thread.join()
            self.peak = float(max(self._max, _resident_bytes()) - self._start)

    def _poll(self) -> None:
        while not self._stop.wait(0.01):
            self._max = max(self._max, _resident_bytes())


def _trim_heap() -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _resident_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


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


def _or(value: float | None, default: float) -> float:
    return default if value is None else value


def _load_average() -> str:
    with contextlib.suppress(OSError, AttributeError):
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    return "unknown"


def _median_run(runs: list[Run]) -> Run:
    return sorted(runs, key=lambda run: run.seconds)[(len(runs) - 1) // 2]


def _mib(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value / 2**20:.0f}"


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # models come from configs; the hub is never asked
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="one small model, few draws (< 60 s)")
    parser.add_argument("--suite", choices=("cpu", "gpu", "hf"), default="cpu", help="the models to run")
    parser.add_argument("--only", default="", help="run only the models whose name contains this")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--tf32", action="store_true", help="allow TF32 matmuls on CUDA")
    parser.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: torch's default)")
    parser.add_argument("--chains", type=int, default=8)
    parser.add_argument(
        "--step-size", type=float, default=None, help=f"ε (DLN {DLN_STEP_SIZE:g}, GPT-2 {GPT2_STEP_SIZE:g})"
    )
    parser.add_argument(
        "--localization",
        type=float,
        default=None,
        help=f"γ (DLN {DLN_LOCALIZATION:g}, GPT-2 {GPT2_LOCALIZATION:g})",
    )
    parser.add_argument("--reference", choices=("devinterp", "sequential", "none"), default="devinterp")
    parser.add_argument(
        "--repeats", type=int, default=None, help="engine runs per model (median; default 3, 1 with --quick)"
    )
    parser.add_argument("--reference-repeats", type=int, default=1, help="reference runs per model (median)")
    args = parser.parse_args()
    if args.repeats is None:
        args.repeats = 1 if args.quick else 3
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.tf32:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    reference: Callable[[Problem, argparse.Namespace], Run] = run_devinterp
    label = "devinterp 2.0.1"
    if args.reference == "none":
        reference, label = _no_reference, "no reference"
    elif args.reference == "sequential" or not _has_devinterp():
        reference, label = run_sequential, "sequential (not devinterp)"
    size = 8192 if args.device.startswith("cuda") else (1024 if args.quick else 2048)
    peak = matmul_flops(args.device, size=size)
    print(
        f"{time.strftime('%Y-%m-%d %H:%M:%S %Z')}, load average {_load_average()}; device {args.device}, "
        f"torch {torch.__version__}, threads {torch.get_num_threads()}, chains {args.chains}, "
        f"nβ = n/log n, burn-in 0; reference: {label}"
    )
    tf32 = " (TF32 allowed)" if args.tf32 else ""
    print(f"float32 matmul {size}³{tf32}: {peak / 1e9:.1f} GFLOP/s\n", flush=True)
    builders: tuple[tuple[Any, Callable[[Any, argparse.Namespace], Problem]], ...]
    if args.suite == "hf":
        builders = tuple((c, gpt2_problem) for c in (HF_QUICK if args.quick else HF) if args.only in c.name)
    else:
        cases = QUICK if args.quick else (GPU if args.suite == "gpu" else FULL)
        builders = tuple((c, deep_linear_problem) for c in cases if args.only in c.name)
    problems = [build(case, args) for case, build in builders]  # GPT-2s train first, off the clock
    print(
        f"\n| model | params | batch | draws | ε, γ | engine s (CPU s) | {label} s (CPU s) "
        "| engine chain-steps/s | reference chain-steps/s | speed-up wall (CPU) | λ̂ engine ± MCSE "
        "| λ̂ reference ± MCSE | |Δ| / σ | peak MiB engine / reference | engine GFLOP/s (share of matmul) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    notes = []
    for problem in problems:
        run_engine(problem, args, num_draws=5)  # warm-up: the first call's lazy initialisation
        engine_runs: list[Run] = []
        reference_runs: list[Run] = []
        for index in range(max(args.repeats, args.reference_repeats)):  # alternate: same load for both
            if index < args.repeats:
                engine_runs.append(run_engine(problem, args))
            if index < args.reference_repeats:
                reference_runs.append(reference(problem, args))
        print(_row(problem, engine_runs, reference_runs, args.chains, peak), flush=True)
        notes.append(
            f"{problem.name}: wall s per run, engine "
            + ", ".join(f"{run.seconds:.1f}" for run in engine_runs)
            + "; reference "
            + ", ".join(f"{run.seconds:.1f}" for run in reference_runs)
        )
    print("\n" + "\n".join(notes))
    print(f"\nload average at the end: {_load_average()}")


def _row(
    problem: Problem, engine_runs: list[Run], reference_runs: list[Run], chains: int, peak: float
) -> str:
    """One markdown row: medians by wall time; CPU speed-up from the median CPU seconds."""
    engine, theirs = _median_run(engine_runs), _median_run(reference_runs)
    engine_cpu = statistics.median(run.cpu_seconds for run in engine_runs)
    theirs_cpu = statistics.median(run.cpu_seconds for run in reference_runs)
    steps = chains * problem.num_draws
    flops = problem.flops_per_chain_step * steps / engine.seconds
    share = f"{flops / 1e9:.1f} ({flops / peak:.0%})" if problem.compute_bound else f"{flops / 1e9:.2f}"
    sigma = math.hypot(engine.mcse, theirs.mcse)
    engine_peak = max(run.peak_bytes for run in engine_runs)
    theirs_peak = max(run.peak_bytes for run in reference_runs)
    return (
        f"| {problem.name} | {problem.parameters:,} | {problem.batch_label} | {problem.num_draws} "
        f"| {problem.step_size:g}, {problem.localization:g} | {engine.seconds:.2f} ({engine_cpu:.2f}) "
        f"| {theirs.seconds:.2f} ({theirs_cpu:.2f}) | {steps / engine.seconds:.1f} | {steps / theirs.seconds:.1f} "
        f"| {theirs.seconds / engine.seconds:.2f}× ({theirs_cpu / engine_cpu:.2f}×) "
        f"| {engine.llc:.2f} ± {engine.mcse:.2f} | {theirs.llc:.2f} ± {theirs.mcse:.2f} "
        f"| {abs(engine.llc - theirs.llc) / sigma:.2f} | {_mib(engine_peak)} / {_mib(theirs_peak)} | {share} |"
    )


def _has_devinterp() -> bool:
    with contextlib.suppress(ImportError):
        import devinterp  # noqa: F401

        return True
    return False


if __name__ == "__main__":
    main()
