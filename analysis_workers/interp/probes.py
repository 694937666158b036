"""Linear probes on the residual stream at every layer, with a shuffled-label control.

For each stage s (as in the logit lens: the embedding, then after each block) we take
the residual vector r_s ∈ ℝ^{d_model} at one position per prompt, standardise it with
the training split's mean and standard deviation, and fit multinomial logistic
regression  p(y | r) = softmax(W r + c)  by minimising the mean cross-entropy plus
λ‖W‖² (L-BFGS). We report held-out accuracy on a split drawn from `generator`.

Control (after Hewitt & Liang 2019): the same probe is trained and tested on labels
permuted at random across prompts, which destroys any relation to the activations but
keeps the class frequencies; its accuracy estimates what the probe achieves from
capacity alone. Selectivity = accuracy − control accuracy. Chance = the majority class's share.

Cost: one forward pass, then per stage an L-BFGS fit on n × d_model features
(O(iterations · n · d_model · classes)).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from torch import Tensor

from analysis_workers.interp.logit_lens import stage_names
from analysis_workers.interp.readout import HookedModel
from analysis_workers.interp.report import AnalysisReport, new_figure


def fit_probe(
    features: Tensor, labels: Tensor, n_classes: int, *, l2: float = 1e-3, iterations: int = 100
) -> tuple[Tensor, Tensor]:
    """(W [classes, d], c [classes]) minimising mean cross-entropy + l2·‖W‖² on float64 features [n, d]."""
    weight = torch.zeros(n_classes, features.shape[1], dtype=torch.float64, requires_grad=True)
    bias = torch.zeros(n_classes, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([weight, bias], max_iter=iterations, line_search_fn="strong_wolfe")

    def closure() -> Tensor:
        optimizer.zero_grad()
        loss = F.cross_entropy(features @ weight.T + bias, labels) + l2 * weight.pow(2).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        optimizer.step(closure)
    return weight.detach(), bias.detach()


def probe_accuracy(
    features: Tensor, labels: Tensor, train: Tensor, test: Tensor, n_classes: int, *, l2: float
) -> float:
    x = features.double()
    mean, std = x[train].mean(0), x[train].std(0).clamp_min(1e-8)
    x = (x - mean) / std
    weight, bias = fit_probe(x[train], labels[train], n_classes, l2=l2)
    predicted = (x[test] @ weight.T + bias).argmax(-1)
    return (predicted == labels[test]).double().mean().item()


def linear_probes(
    model: HookedModel,
    tokens: Tensor,
    labels: Tensor,
    *,
    generator: torch.Generator,
    position: int = -1,
    test_fraction: float = 0.3,
    l2: float = 1e-3,
) -> AnalysisReport:
    """Held-out accuracy of a linear probe for `labels` [batch] (ints) at each stage, and its control."""
    if tokens.dim() != 2 or labels.shape != (tokens.shape[0],):
        raise ValueError("tokens must be [batch, pos] and labels [batch]")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError("test_fraction must be in (0, 1)")
    n = tokens.shape[0]
    n_test = round(test_fraction * n)
    if n_test < 2 or n - n_test < 2:
        raise ValueError("too few prompts for a train/test split")
    labels = labels.long()
    n_classes = int(labels.max().item()) + 1
    order = torch.randperm(n, generator=generator)
    test, train = order[:n_test], order[n_test:]
    shuffled = labels[torch.randperm(n, generator=generator)]
    names = stage_names(model)
    with torch.inference_mode():
        _, cache = model.run_with_cache(tokens, names_filter=names)
    features = {name: cache[name][:, position].clone() for name in names}  # [batch, d_model] each
    accuracy = [probe_accuracy(features[name], labels, train, test, n_classes, l2=l2) for name in names]
    control = [probe_accuracy(features[name], shuffled, train, test, n_classes, l2=l2) for name in names]
    chance = (torch.bincount(labels[test], minlength=n_classes).max() / n_test).item()
    stages = ["embed"] + [f"after L{layer}" for layer in range(model.config.n_layers)]
    metrics = {
        "stages": stages,
        "accuracy": accuracy,
        "control_accuracy": control,
        "selectivity": [a - c for a, c in zip(accuracy, control, strict=True)],
        "chance": chance,
        "n_train": n - n_test,
        "n_test": n_test,
        "n_classes": n_classes,
    }
    return AnalysisReport(metrics, {"probes": _figure(stages, accuracy, control, chance)})


def _figure(stages: list[str], accuracy: list[float], control: list[float], chance: float) -> Figure:
    figure = new_figure(width=5.0, height=3.0)
    ax = figure.subplots()
    ax.plot(range(len(stages)), accuracy, marker="o", label="probe (held out)")
    ax.plot(range(len(stages)), control, marker="s", label="control: shuffled labels")
    ax.axhline(chance, color="grey", linestyle="--", linewidth=0.8, label="chance")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=min(len(stages), 10)))
    ax.set_ylim(0.0, 1.05)
    ax.set_ylabel("held-out accuracy (0–1)")
    ax.set_xlabel("residual stream read after block (0 = embedding)")
    ax.set_title("linear probes", fontsize=9)
    ax.legend(fontsize=7)
    return figure
