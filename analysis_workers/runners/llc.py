"""The `llc` and `llc_trajectory` kinds: λ̂ at a checkpoint, or along a checkpoint series."""

from __future__ import annotations

from typing import Any

from analysis_workers.interp.report import AnalysisReport, finite, new_figure
from analysis_workers.kinds import components_of
from analysis_workers.llc import component_masks, estimate_llc
from analysis_workers.llc.trajectory import llc_over_checkpoints
from analysis_workers.runners.inputs import JobInputs, loss_fn_for
from analysis_workers.sampler_config import SamplerConfig

TRACE_POINTS = 200


def run(inputs: JobInputs) -> AnalysisReport:
    """λ̂ at the checkpoint; restricted to the named components' weights and/or the first
    `data_rows` rows when the request says so (Wang et al. 2024's refined LLC)."""
    data = inputs.dataset.as_tuple()
    components = components_of(inputs.params.get("components"))
    rows = inputs.params.get("data_rows")
    if rows is not None and rows > len(data[0]):
        raise ValueError(f"data_rows = {rows}, but the dataset has {len(data[0])} rows")
    estimate = estimate_llc(
        inputs.model,
        data,
        loss_fn_for(inputs.dataset),
        SamplerConfig.from_params(inputs.params),
        progress=inputs.progress,
        device=inputs.device,
        weight_masks=component_masks(inputs.model, components) if components else None,
        data_subset=range(rows) if rows is not None else None,
    )
    trace = estimate.loss_trace
    stride = max(trace.shape[1] // TRACE_POINTS, 1)
    figure = new_figure(width=6.0, height=3.5)
    ax = figure.subplots()
    for chain in range(trace.shape[0]):
        ax.plot(trace[chain, ::stride].tolist(), linewidth=0.8, label=f"chain {chain}")
    ax.axhline(estimate.init_loss, color="black", linestyle="--", linewidth=0.8, label="L_n(w*)")
    ax.set_xlabel(f"draw (every {stride})")
    ax.set_ylabel("minibatch loss")
    ax.set_title(f"λ̂ = {estimate.mean:.3g} ± {estimate.diagnostics['mcse']:.2g}")
    ax.legend(fontsize=6)
    return AnalysisReport(
        metrics={
            "llc_mean": estimate.mean,
            "llc_std": estimate.std,
            "llc_per_chain": estimate.per_chain,
            "init_loss": estimate.init_loss,
            "diagnostics": estimate.diagnostics,
            "loss_trace_mean": trace.mean(dim=0)[::stride].tolist(),
            "restricted_to": {"components": components, "data_rows": rows},
        },
        figures={"loss_trace": figure},
    )


def run_trajectory(inputs: JobInputs) -> AnalysisReport:
    """λ̂ per checkpoint (flagged ones get no value) with L_n(w*) overlaid."""
    states = [model.state_dict() for model in inputs.models]
    outcomes = llc_over_checkpoints(
        inputs.models[0],
        states,
        inputs.dataset.as_tuple(),
        loss_fn_for(inputs.dataset),
        SamplerConfig.from_params(inputs.params),
        progress=inputs.progress,
        device=inputs.device,
    )
    rows: list[dict[str, Any]] = [
        {
            "checkpoint": inputs.labels[outcome.index],
            "llc": finite(outcome.llc) if outcome.llc is not None else None,
            "init_loss": outcome.estimate.init_loss if outcome.estimate is not None else None,
            "r_hat": outcome.estimate.diagnostics.get("r_hat") if outcome.estimate is not None else None,
            "flagged": outcome.flagged,
            "reasons": list(outcome.reasons),
        }
        for outcome in outcomes
    ]
    figure = new_figure(width=6.5, height=3.8)
    ax = figure.subplots()
    xs = list(range(len(rows)))
    ax.plot(
        [x for x, row in zip(xs, rows, strict=True) if row["llc"] is not None],
        [row["llc"] for row in rows if row["llc"] is not None],
        marker="o",
        color="tab:blue",
        label="λ̂",
    )
    flagged = [x for x, row in zip(xs, rows, strict=True) if row["flagged"]]
    if flagged:
        ax.scatter(flagged, [0.0] * len(flagged), marker="x", color="tab:red", label="flagged (no value)")
    ax.set_xticks(xs, [row["checkpoint"] for row in rows], rotation=60, fontsize=6)
    ax.set_ylabel("λ̂")
    twin = ax.twinx()
    twin.plot(
        [x for x, row in zip(xs, rows, strict=True) if row["init_loss"] is not None],
        [row["init_loss"] for row in rows if row["init_loss"] is not None],
        color="tab:orange",
        linestyle="--",
        label="L_n(w*)",
    )
    twin.set_yscale("log")
    twin.set_ylabel("training loss")
    ax.legend(loc="upper left", fontsize=7)
    twin.legend(loc="upper right", fontsize=7)
    ax.set_title("LLC over the checkpoint series")
    return AnalysisReport(metrics={"checkpoints": rows}, figures={"llc_trajectory": figure})
