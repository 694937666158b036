"""The `llc` and `llc_trajectory` kinds: λ̂ at a checkpoint, or along a checkpoint series.

Every result carries its verdict (`metrics["reliability"]`, from `llc.reliability`): λ̂ with
its MCSE and the between-chain std, each named, R-hat, ESS, the trend test, divergences and the
sampler's settings; an unreliable result says so in its metrics and on its plots.
"""

from __future__ import annotations

from typing import Any

import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from analysis_workers.interp.report import AnalysisReport, finite, new_figure, series_x
from analysis_workers.kinds import components_of
from analysis_workers.llc import LLCDivergenceError, component_masks, estimate_llc
from analysis_workers.llc.reliability import Verdict, judge_divergence
from analysis_workers.llc.sampler import LLCEstimate
from analysis_workers.llc.trajectory import CheckpointLLC, llc_over_checkpoints
from analysis_workers.runners.inputs import JobInputs, loss_fn_for
from analysis_workers.sampler_config import SamplerConfig

TRACE_POINTS = 200
UNRELIABLE_COLOUR = "tab:red"


def sampler_settings(config: SamplerConfig, num_samples: int) -> dict[str, Any]:
    """The settings a result ran with (nβ resolved), as JSON."""
    return {
        "num_chains": config.num_chains,
        "num_draws": config.num_draws,
        "num_burnin": config.num_burnin,
        "step_size": config.step_size,
        "localization": config.localization,
        "nbeta": config.resolved_nbeta(num_samples),
        "batch_size": config.batch_size,
        "seed": config.seed,
    }


def run(inputs: JobInputs) -> AnalysisReport:
    """λ̂ at the checkpoint; restricted to the named components' weights and/or the first
    `data_rows` rows when the request says so (Wang et al. 2024's refined LLC). A divergence is
    a result too: no λ̂, the verdict says why, and the plot shows the traces up to it."""
    data = inputs.dataset.as_tuple()
    components = components_of(inputs.params.get("components"))
    rows = inputs.params.get("data_rows")
    if rows is not None and rows > len(data[0]):
        raise ValueError(f"data_rows = {rows}, but the dataset has {len(data[0])} rows")
    config = SamplerConfig.from_params(inputs.params)
    restricted_to = {"components": components, "data_rows": rows}
    settings = sampler_settings(config, rows if rows is not None else len(data[0]))
    try:
        estimate = estimate_llc(
            inputs.model,
            data,
            loss_fn_for(inputs.dataset),
            config,
            progress=inputs.progress,
            device=inputs.device,
            weight_masks=component_masks(inputs.model, components) if components else None,
            data_subset=range(rows) if rows is not None else None,
            emit_warnings=False,
        )
    except LLCDivergenceError as error:
        return _diverged(error, settings, restricted_to)
    verdict = estimate.verdict
    trace = estimate.loss_trace
    stride = max(trace.shape[1] // TRACE_POINTS, 1)
    diagnostics = {key: value for key, value in estimate.diagnostics.items() if key != "sampler"}
    return AnalysisReport(
        metrics={
            "llc_mean": estimate.mean,
            "llc_mcse": finite(estimate.mcse),
            "llc_between_chain_std": estimate.std,
            "llc_per_chain": estimate.per_chain,
            "init_loss": estimate.init_loss,
            "reliability": verdict.as_json(),
            "diagnostics": {k: finite(v) if isinstance(v, float) else v for k, v in diagnostics.items()},
            "sampler": settings,
            "loss_trace_mean": trace.mean(dim=0)[::stride].tolist(),
            "restricted_to": restricted_to,
        },
        figures={"loss_trace": _chain_traces(estimate, verdict, stride)},
    )


def _diverged(error: LLCDivergenceError, settings: dict[str, Any], restricted_to: Any) -> AnalysisReport:
    verdict = judge_divergence(str(error))
    figure = new_figure(width=6.0, height=3.8)
    ax = figure.subplots()
    trace = error.loss_trace if error.loss_trace is not None else torch.empty(0, 0)
    for chain in range(trace.shape[0]):
        ax.plot(trace[chain].abs().clamp_min(1e-30).tolist(), linewidth=0.8, label=f"chain {chain}")
    if trace.numel():
        ax.set_yscale("log")
        ax.axvline(settings["num_burnin"], color="grey", linestyle=":", linewidth=0.8, label="end of burn-in")
        ax.legend(fontsize=6, ncols=2)
    ax.set_xlabel("SGLD step (burn-in included)")
    ax.set_ylabel("|minibatch loss| (log scale)")
    ax.set_title(
        "UNRELIABLE: the sampler diverged, no λ̂\n" + _advice(verdict), color=UNRELIABLE_COLOUR, fontsize=8
    )
    return AnalysisReport(
        metrics={
            "llc_mean": None,
            "llc_mcse": None,
            "llc_between_chain_std": None,
            "llc_per_chain": [],
            "init_loss": None,
            "reliability": verdict.as_json(),
            "diagnostics": {"divergences": 1, "warnings": [str(error)]},
            "sampler": settings,
            "loss_trace_mean": [],
            "restricted_to": restricted_to,
        },
        figures={"loss_trace": figure},
    )


def _chain_traces(estimate: LLCEstimate, verdict: Verdict, stride: int) -> Figure:
    """Per-chain λ̂ traces nβ(L_B(w_t) − L_n(w*)): each draw thin, its running mean bold, and
    the estimate ± MCSE as a band; the title says reliable or UNRELIABLE with why."""
    llc_trace = estimate.llc_trace  # (chains, draws)
    draws = llc_trace.shape[1]
    steps = torch.arange(1, draws + 1, dtype=torch.float64)
    running = llc_trace.cumsum(dim=1) / steps
    figure = new_figure(width=6.5, height=4.0)
    ax = figure.subplots()
    for chain in range(llc_trace.shape[0]):
        (line,) = ax.plot(
            steps[::stride].tolist(), llc_trace[chain, ::stride].tolist(), linewidth=0.5, alpha=0.35
        )
        ax.plot(
            steps.tolist(),
            running[chain].tolist(),
            linewidth=1.4,
            color=line.get_color(),
            label=f"chain {chain}",
        )
    mcse = estimate.mcse
    ax.axhline(estimate.mean, color="black", linewidth=0.9, label="λ̂ (all chains)")
    ax.axhspan(estimate.mean - mcse, estimate.mean + mcse, color="black", alpha=0.12, label="± MCSE")
    ax.set_xlabel(f"SGLD draw after {estimate.diagnostics['sampler']['num_burnin']} burn-in steps")
    ax.set_ylabel("λ̂ per draw: nβ (L_B(w_t) − L_n(w*))")
    ax.legend(fontsize=6, ncols=2, loc="best")
    d = estimate.diagnostics
    numbers = (
        f"λ̂ = {estimate.mean:.4g} ± {mcse:.2g} (MCSE), between-chain std {estimate.std:.2g}; "
        f"R-hat {d['r_hat']:.3f}, ESS {d['ess']:.0f}, trend z {d['trend_z']:.1f}"
    )
    _verdict_title(ax, verdict, numbers)
    return figure


def _verdict_title(ax: Axes, verdict: Verdict, numbers: str) -> None:
    if verdict.reliable:
        ax.set_title(f"per-chain λ̂ traces (bold: running mean)\n{numbers}", fontsize=8)
    else:
        ax.set_title(f"UNRELIABLE — {_advice(verdict)}\n{numbers}", fontsize=8, color=UNRELIABLE_COLOUR)


def _advice(verdict: Verdict) -> str:
    return "; ".join(f"{reason.diagnostic}: {reason.advice}" for reason in verdict.reasons[:2])


def llc_row(label: str, outcome: CheckpointLLC) -> dict[str, Any]:
    """One checkpoint of a series as JSON: `llc` only when reliable, the raw estimate, MCSE, R-hat,
    ESS, trend, divergences and the verdict."""
    estimate = outcome.estimate
    return {
        "checkpoint": label,
        "llc": finite(outcome.llc) if outcome.llc is not None else None,
        "llc_estimate": finite(estimate.mean) if estimate is not None else None,
        "llc_mcse": finite(estimate.mcse) if estimate is not None else None,
        "llc_between_chain_std": estimate.std if estimate is not None else None,
        "init_loss": estimate.init_loss if estimate is not None else None,
        "r_hat": finite(estimate.diagnostics["r_hat"]) if estimate is not None else None,
        "ess": finite(estimate.diagnostics["ess"]) if estimate is not None else None,
        "trend_z": finite(estimate.diagnostics["trend_z"]) if estimate is not None else None,
        "divergences": 0 if estimate is not None else 1,
        "reliability": outcome.verdict.as_json(),
        "flagged": outcome.flagged,
        "reasons": list(outcome.reasons),
    }


def series_reliability(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """One verdict for a series: reliable when every checkpoint is; each failed check of each
    checkpoint is a reason, naming the checkpoint."""
    reasons = [
        {**reason, "checkpoint": row["checkpoint"]}
        for row in rows
        for reason in row["reliability"]["reasons"]
    ]
    return {"reliable": not reasons, "reasons": reasons}


def run_trajectory(inputs: JobInputs) -> AnalysisReport:
    """λ̂ ± MCSE per checkpoint against the series position, unreliable points marked (they get
    no `llc`, only `llc_estimate`), with L_n(w*) on a second axis."""
    config = SamplerConfig.from_params(inputs.params)
    data = inputs.dataset.as_tuple()
    outcomes = llc_over_checkpoints(
        inputs.models[0],
        [model.state_dict() for model in inputs.models],
        data,
        loss_fn_for(inputs.dataset),
        config,
        progress=inputs.progress,
        device=inputs.device,
    )
    rows = [llc_row(inputs.labels[outcome.index], outcome) for outcome in outcomes]
    figure = new_figure(width=6.8, height=4.0)
    llc_axes(figure.subplots(), rows, [row["checkpoint"] for row in rows])
    return AnalysisReport(
        metrics={
            "checkpoints": rows,
            "reliability": series_reliability(rows),
            "sampler": sampler_settings(config, len(data[0])),
        },
        figures={"llc_trajectory": figure},
    )


def llc_axes(
    ax: Axes, rows: list[dict[str, Any]], labels: list[str], *, loss: list[float] | None = None
) -> None:
    """λ̂ ± MCSE per checkpoint (`llc_row`s) on `ax` against the series position, L_n(w*) (or `loss`) on a
    twin log axis. Unreliable estimates are red hollow markers (clipped to the axis, marked ▲/▼,
    when far outside the reliable range); a diverged checkpoint is a red × at the bottom."""
    xs = series_x(ax, labels)
    good = [(x, row) for x, row in zip(xs, rows, strict=True) if row["llc"] is not None]
    bad = [(x, row) for x, row in zip(xs, rows, strict=True) if row["llc"] is None]
    if good:
        ax.errorbar(
            [x for x, _ in good],
            [row["llc"] for _, row in good],
            yerr=[row["llc_mcse"] or 0.0 for _, row in good],
            marker="o",
            markersize=4,
            capsize=3,
            color="tab:blue",
            label="λ̂ ± MCSE (reliable)",
        )
    values = [row["llc"] for _, row in good]
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    span = max(high - low, abs(high) * 0.2, 1.0)
    bottom, top = low - 0.25 * span, high + 0.25 * span
    estimated = [(x, row) for x, row in bad if row["llc_estimate"] is not None]
    if estimated:
        raw = [row["llc_estimate"] for _, row in estimated]
        if not values:
            bottom, top = min(raw) - 0.25 * max(abs(min(raw)), 1.0), max(raw) + 0.25 * max(abs(max(raw)), 1.0)
        shown = [min(max(v, bottom), top) for v in raw]
        ax.errorbar(
            [x for x, _ in estimated],
            shown,
            yerr=[row["llc_mcse"] or 0.0 for _, row in estimated],
            fmt="o",
            markersize=6,
            markerfacecolor="none",
            color=UNRELIABLE_COLOUR,
            capsize=3,
            label="unreliable estimate (see reasons)",
        )
        for (x, _), value, drawn in zip(estimated, raw, shown, strict=True):
            if drawn != value:
                ax.annotate(f"{'▲' if value > drawn else '▼'} {value:.3g}", (x, drawn), fontsize=6,
                            color=UNRELIABLE_COLOUR, ha="center", va="bottom" if value < drawn else "top")  # fmt: skip
    diverged = [x for x, row in bad if row["llc_estimate"] is None]
    if diverged:
        ax.scatter(
            diverged,
            [bottom] * len(diverged),
            marker="x",
            s=40,
            color=UNRELIABLE_COLOUR,
            label="diverged (no λ̂)",
        )
    ax.set_ylim(bottom, top)
    ax.set_ylabel("λ̂ (local learning coefficient)")
    twin = ax.twinx()
    losses = loss if loss is not None else [row["init_loss"] for row in rows]
    points = [(x, v) for x, v in zip(xs, losses, strict=True) if v is not None and v > 0]
    if points:
        twin.plot(*zip(*points, strict=True), color="tab:orange", linestyle="--", marker=".", label="L_n(w*)")
        twin.set_yscale("log")
    twin.set_ylabel("training loss L_n(w*) (log scale)")
    handles, names = ax.get_legend_handles_labels()
    twin_handles, twin_names = twin.get_legend_handles_labels()
    ax.legend(handles + twin_handles, names + twin_names, loc="upper left", fontsize=6)
    unreliable = len(bad)
    ax.set_title(
        f"LLC over the checkpoint series ({unreliable} of {len(rows)} unreliable)" if unreliable else
        "LLC over the checkpoint series (every point reliable)",
        color=UNRELIABLE_COLOUR if unreliable else "black", fontsize=9,
    )  # fmt: skip
