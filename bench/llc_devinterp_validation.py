"""The accuracy suite run through devinterp 2.0.1 beside this engine: same cases, same settings.

    pip install devinterp==2.0.1 datasets torch==<yours>     # optional benchmark extra
    python bench/llc_devinterp_validation.py --threads 1             # all 12 cases
    python bench/llc_devinterp_validation.py --threads 1 --cases 4   # the first four

Each case of `validation.SUITE` (same model, same n = 10 000 rows of data, seed 1) is estimated
by `estimate_llc` with `HAND_SETTINGS` (ε = 5e-5, γ = 10, nβ = n / log n, batch 256, 4 chains ×
2000 draws after 1000 burn-in steps) and by devinterp's `llc()` with the same ε, γ, nβ, batch,
chains, burn-in and draws; everything else is devinterp's default. Data reach devinterp as a
`datasets.Dataset` whose `input_ids` rows pack [x, y] as floats, with a per-token loss that
repeats each row's ‖f(x) − y‖² over the (seq − 1) positions (the same mean).

devinterp 2.0.1's `llc_mean` averages over every step, burn-in included; its loss trace is also
reported averaged over the 2000 draws after burn-in only (as this engine does). Prints one
markdown table with both errors against Aoyagi's λ and the mean |relative error| of each column.
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
import time
import warnings

import torch
from torch import nn

from analysis_workers.llc.validation import HAND_SETTINGS, SUITE, hand_tuned_row, problem


def devinterp_estimates(model: nn.Module, data: tuple[torch.Tensor, torch.Tensor]) -> tuple[float, float]:
    """(devinterp's llc_mean, the same trace averaged after burn-in only)."""
    from datasets import Dataset
    from devinterp.slt.llc import llc

    x, y = data
    d_in = x.shape[1]
    packed = Dataset.from_dict({"input_ids": torch.cat([x, y], dim=1).tolist()}).with_format("torch")

    def loss_fn(net: nn.Module, input_ids: torch.Tensor) -> torch.Tensor:
        rows = input_ids.float()
        per_row = ((net(rows[:, :d_in]) - rows[:, d_in:]) ** 2).sum(dim=-1)  # (batch,)
        return per_row[:, None].expand(-1, rows.shape[1] - 1)  # (batch, seq - 1), same mean

    n = x.shape[0]
    nbeta = n / math.log(n)
    burnin = HAND_SETTINGS.num_burnin
    with tempfile.TemporaryDirectory() as folder, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = llc(
            model,
            packed,
            {},
            lr=HAND_SETTINGS.step_size,
            n_beta=nbeta,
            localization=HAND_SETTINGS.localization,
            loss_fn=loss_fn,
            num_chains=HAND_SETTINGS.num_chains,
            num_draws=HAND_SETTINGS.num_draws,
            num_burnin_steps=burnin,
            batch_size=HAND_SETTINGS.batch_size,
            device="cpu",
            output_path=f"{folder}/samples.zarr",
        )
        trace = torch.as_tensor(result["loss_trace"].values, dtype=torch.float64)  # (chain, step)
        init_loss = float(result["init_loss"])
        after = trace[:, burnin:] if trace.shape[1] > HAND_SETTINGS.num_draws else trace
        return float(result["llc_mean"]), nbeta * (float(after.mean()) - init_loss)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=int, default=len(SUITE), help="run the first N suite cases")
    parser.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: leave as is)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"settings {HAND_SETTINGS}, nβ = n / log n, n = 10000, torch threads {torch.get_num_threads()}\n")
    print(
        "| widths, rank | λ (theory) | λ̂ engine | error | λ̂ devinterp llc_mean | error "
        "| devinterp after burn-in | error | engine s | devinterp s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    errors: dict[str, list[float]] = {"engine": [], "devinterp": [], "devinterp after burn-in": []}
    for case in SUITE[: args.cases]:
        ours = hand_tuned_row(case)
        model, data = problem(case)
        start = time.perf_counter()
        theirs, theirs_after = devinterp_estimates(model, data)
        seconds = time.perf_counter() - start
        truth = case.true_lambda
        row = {"engine": ours.estimate, "devinterp": theirs, "devinterp after burn-in": theirs_after}
        for key, value in row.items():
            errors[key].append((value - truth) / truth)
        print(
            f"| {case.label} | {truth:.2f} | {ours.estimate:.2f} | {errors['engine'][-1]:+.1%} "
            f"| {theirs:.2f} | {errors['devinterp'][-1]:+.1%} | {theirs_after:.2f} "
            f"| {errors['devinterp after burn-in'][-1]:+.1%} | {ours.seconds:.1f} | {seconds:.1f} |",
            flush=True,
        )
    for key, values in errors.items():
        print(f"mean |relative error|, {key}: {statistics.fmean(abs(v) for v in values):.1%}")
    worse = [
        case.label
        for case, ours_error, all_steps, after in zip(
            SUITE, errors["engine"], errors["devinterp"], errors["devinterp after burn-in"], strict=False
        )
        if abs(ours_error) > min(abs(all_steps), abs(after))
    ]
    print(f"cases where the engine is worse than a devinterp column: {worse or 'none'}")


if __name__ == "__main__":
    main()
