"""LLC accuracy against theory: regular models and deep linear networks (Aoyagi's λ).

    python bench/llc_validation.py            # hand-tuned and calibrated settings, full suite
    python bench/llc_validation.py --quick    # hand-tuned only, first four cases (< 60 s)

Prints a markdown table per setting with the mean relative error; see docs/llc-validation.md.
"""

from __future__ import annotations

import argparse
import statistics

import torch

from analysis_workers.llc.validation import (
    HAND_SETTINGS,
    SUITE,
    ValidationRow,
    calibrated_row,
    hand_tuned_row,
)


def table(title: str, rows: list[ValidationRow]) -> None:
    print(f"\n### {title}\n")
    print("| widths, rank | d | λ (theory) | λ̂ | MCSE | R-hat | rel. error | ε | γ | s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        d = sum(a * b for a, b in zip(row.case.widths, row.case.widths[1:], strict=False))
        print(
            f"| {row.case.label} | {d} | {row.case.true_lambda:.2f} | {row.estimate:.2f} | {row.mcse:.2f} "
            f"| {row.r_hat:.3f} | {row.relative_error:+.1%} | {row.step_size:g} | {row.localization:g} "
            f"| {row.seconds:.1f} |"
        )
    mean_abs = statistics.fmean(abs(row.relative_error) for row in rows)
    print(f"\nmean |relative error| over {len(rows)} cases: {mean_abs:.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="hand-tuned settings on the first four cases")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: leave as is)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    cases = SUITE[:4] if args.quick else SUITE
    print(f"hand-tuned settings: {HAND_SETTINGS}, nβ = n / log n, n = 10000")
    table("hand-tuned", [hand_tuned_row(case, device=args.device) for case in cases])
    if not args.quick:
        table(
            "calibrated (calibrate's recommendation, no hand-tuning)",
            [calibrated_row(case, device=args.device) for case in cases],
        )


if __name__ == "__main__":
    main()
