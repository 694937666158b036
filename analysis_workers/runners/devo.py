"""The `essential_dynamics` kind: the developmental trajectory of a checkpoint series."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from analysis_workers.datasets import Dataset
from analysis_workers.datasets.uploaded import UPLOADED
from analysis_workers.devo import essential_dynamics
from analysis_workers.interp.report import AnalysisReport, new_figure
from analysis_workers.llc.trajectory import llc_over_checkpoints
from analysis_workers.runners.inputs import JobInputs, loss_fn_for
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
    llcs = [row.llc for row in llc_rows]
    coordinates = found.coordinates.tolist()
    metrics = {
        "checkpoints": inputs.labels,
        "coordinates": coordinates,
        "explained_variance": found.explained,
        "turning_points": [inputs.labels[i] for i in found.turns],
        "turning_angles": found.angles,
        "loss": losses,
        "llc": llcs,
        "llc_flags": [list(row.reasons) for row in llc_rows],
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
    figure = new_figure(width=6.5, height=3.8)
    ax = figure.subplots()
    xs = list(range(len(metrics["checkpoints"])))
    ax.plot(xs, [c[0] for c in metrics["coordinates"]], label="PC1", color="tab:blue")
    ax.set_xticks(xs, metrics["checkpoints"], rotation=60, fontsize=6)
    twin = ax.twinx()
    twin.plot(xs, metrics["loss"], color="tab:orange", linestyle="--", label="loss")
    twin.set_yscale("log")
    llc_points = [(x, v) for x, v in zip(xs, metrics["llc"], strict=True) if v is not None]
    if llc_points:
        third = ax.twinx()
        third.spines["right"].set_position(("axes", 1.12))
        third.plot(*zip(*llc_points, strict=True), color="tab:green", marker="o", markersize=3, label="λ̂")
        third.set_ylabel("λ̂")
    for name in metrics["turning_points"]:
        ax.axvline(metrics["checkpoints"].index(name), color="tab:red", linewidth=0.8, linestyle=":")
    ax.set_ylabel("PC1")
    twin.set_ylabel("loss")
    figure.legend(loc="upper center", fontsize=7, ncols=3)
    return figure
