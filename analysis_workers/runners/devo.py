"""The `essential_dynamics` kind: the developmental trajectory of a checkpoint series."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from analysis_workers.datasets import Dataset
from analysis_workers.datasets.uploaded import UPLOADED
from analysis_workers.devo import essential_dynamics
from analysis_workers.interp.report import AnalysisReport, new_figure, series_x
from analysis_workers.llc.trajectory import llc_over_checkpoints
from analysis_workers.runners.inputs import JobInputs, loss_fn_for
from analysis_workers.runners.llc import llc_axes, llc_row, series_reliability
from analysis_workers.sampler_config import SamplerConfig


def _reader(dataset: Dataset) -> Any:
    """What is compared across checkpoints: log-probabilities of the answers, or the outputs."""
    if dataset.name == "modular_addition":
        p = int(dataset.metadata["p"])
        return lambda logits: torch.log_softmax(logits[:, -1, :p].double(), dim=-1)
    if dataset.name in ("induction_sequences", UPLOADED):
        return lambda logits: torch.log_softmax(logits.double(), dim=-1)
    return lambda outputs: outputs


def run(inputs: JobInputs) -> AnalysisReport:
    dataset = inputs.dataset
    probe: Tensor = dataset.inputs[: inputs.params["probe_size"]]
    found = essential_dynamics(inputs.models, probe, _reader(dataset), components=inputs.params["components"])
    inputs.progress(0.1)
    loss_fn = loss_fn_for(dataset)
    with torch.inference_mode():
        losses = [float(loss_fn(model(dataset.inputs), dataset.targets)) for model in inputs.models]
    llc_rows = llc_over_checkpoints(
        inputs.models[0],
        [model.state_dict() for model in inputs.models],
        dataset.as_tuple(),
        loss_fn,
        SamplerConfig.from_params(inputs.params),
        progress=lambda fraction: inputs.progress(0.1 + 0.9 * fraction),
        device=inputs.device,
    )
    rows = [llc_row(inputs.labels[outcome.index], outcome) for outcome in llc_rows]
    coordinates = found.coordinates.tolist()
    metrics = {
        "checkpoints": inputs.labels,
        "coordinates": coordinates,
        "explained_variance": found.explained,
        "turning_points": [inputs.labels[i] for i in found.turns],
        "turning_angles": found.angles,
        "loss": losses,
        "llc": [row["llc"] for row in rows],
        "llc_flags": [row["reasons"] for row in rows],
        "llc_checkpoints": rows,
        "reliability": series_reliability(rows),
    }
    return AnalysisReport(
        metrics, {"trajectory": _trajectory(found, inputs.labels), "overlay": _overlay(metrics)}
    )


def _trajectory(found: Any, labels: list[str]) -> Any:
    figure = new_figure(width=5.5, height=4.5)
    ax = figure.subplots()
    xs = found.coordinates[:, 0].tolist()
    ys = found.coordinates[:, 1].tolist() if found.coordinates.shape[1] > 1 else [0.0] * len(xs)
    ax.plot(xs, ys, marker="o", markersize=3, color="tab:blue")
    for index, label in enumerate(labels):
        ax.annotate(label, (xs[index], ys[index]), fontsize=6)
    for turn in found.turns:
        ax.scatter([xs[turn]], [ys[turn]], s=80, facecolors="none", edgecolors="tab:red")
    share = ", ".join(f"{100 * e:.0f}%" for e in found.explained[:2])
    ax.set_title(f"essential dynamics (PC1, PC2: {share} of variance); red: turns")
    ax.set_xlabel("PC1")
    ax.set_ylabel("PC2")
    return figure


def _overlay(metrics: dict[str, Any]) -> Any:
    """PC1 above, λ̂ ± MCSE with the loss below, both against the series position; turning
    points are dotted red lines on both."""
    figure = new_figure(width=6.8, height=5.6)
    top, bottom = figure.subplots(2, 1, sharex=True)
    labels = metrics["checkpoints"]
    xs = series_x(top, labels)
    top.plot(
        xs, [c[0] for c in metrics["coordinates"]], marker="o", markersize=3, color="tab:blue", label="PC1"
    )
    top.set_ylabel("PC1 coordinate (output units)")
    top.set_xlabel("")
    top.set_title("essential dynamics: PC1 and λ̂ along the series (red dotted: turning points)", fontsize=9)
    llc_axes(bottom, metrics["llc_checkpoints"], labels, loss=metrics["loss"])
    for name in metrics["turning_points"]:
        for ax in (top, bottom):
            ax.axvline(xs[labels.index(name)], color="tab:red", linewidth=0.8, linestyle=":")
    return figure
