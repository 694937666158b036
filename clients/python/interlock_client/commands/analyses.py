"""`interlock analyse` and `interlock analysis …`: request an analysis and follow it, list, read,
rerun, compare and cancel analyses."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from tqdm import tqdm

from interlock_client.client import InterlockClient
from interlock_client.commands import arguments
from interlock_client.commands.output import minute, print_json, print_page
from interlock_client.exits import Exit

STATES = ("queued", "running", "succeeded", "failed", "cancelled")


def register(commands: Any) -> None:
    analyse = commands.add_parser("analyse", help="request an analysis of a checkpoint and follow it")
    analyse.add_argument("checkpoint", metavar="CHECKPOINT_ID")
    analyse.add_argument("--kind", required=True, help="see GET /api/v1/analysis-kinds/")
    analyse.add_argument("--params", type=arguments.json_object, default={}, help="JSON object")
    analyse.add_argument("--dataset", default="regression", help="a built-in dataset")
    analyse.add_argument("--dataset-id", help="one of your organisation's uploaded datasets instead")
    analyse.add_argument("--dataset-params", type=arguments.json_object, default={}, help="JSON object")
    analyse.add_argument("--device", choices=["cpu", "gpu"], default="cpu")
    _follow_option(analyse)
    analyse.set_defaults(run=request_analysis)

    analysis = commands.add_parser("analysis", help="analyses: list, show, rerun, compare, cancel")
    actions = analysis.add_subparsers(dest="action", required=True, metavar="ACTION")

    listing = actions.add_parser("list", help="the analyses you may see, newest first")
    listing.add_argument("--checkpoint", metavar="CHECKPOINT_ID")
    listing.add_argument("--kind")
    listing.add_argument("--state", choices=STATES)
    arguments.add_listing(listing)
    listing.set_defaults(run=list_analyses)

    show = actions.add_parser("show", help="an analysis: state, why it failed, metrics, plots")
    show.add_argument("id")
    show.add_argument("--plots", type=Path, help="save the plots (PNG) into this folder")
    arguments.add_json(show)
    show.set_defaults(run=show_analysis)

    rerun = actions.add_parser("rerun", help="request an analysis again with the same inputs and parameters")
    rerun.add_argument("id")
    rerun.add_argument("--device", choices=["cpu", "gpu"], help="default: where it ran before")
    _follow_option(rerun)
    rerun.set_defaults(run=rerun_analysis)

    compare = actions.add_parser("compare", help="metrics (and differing parameters) side by side")
    compare.add_argument("ids", nargs="+", metavar="ID")
    arguments.add_json(compare)
    compare.set_defaults(run=compare_analyses)

    cancel = actions.add_parser("cancel", help="cancel a queued or running analysis")
    cancel.add_argument("id")
    cancel.set_defaults(run=cancel_analysis)


def _follow_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--follow",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="follow it to the end (the default); --no-follow prints its id and returns at once",
    )


def _followed(client: InterlockClient, created: dict[str, Any], follow: bool) -> int:
    """Print the new analysis's id (not following), or follow it and print how it ended."""
    if not follow:
        print(created["id"])
        return Exit.OK
    with tqdm(total=100, unit="%", desc="analysis", disable=None) as bar:

        def update(state: dict[str, Any]) -> None:
            bar.set_postfix_str(f"{state['state']} {state.get('message') or ''}"[:60])
            bar.update(round(100 * float(state["progress"])) - bar.n)

        state = client.wait_for_analysis(str(created["id"]), progress=update)
    _print_analysis(client, state, None)
    return Exit.OK if state["state"] == "succeeded" else Exit.ANALYSIS_UNSUCCESSFUL


def request_analysis(client: InterlockClient, args: argparse.Namespace) -> int:
    dataset = (
        {"id": args.dataset_id, "params": args.dataset_params}
        if args.dataset_id
        else {"name": args.dataset, "params": args.dataset_params}
    )
    created = client.request_analysis(
        checkpoint=args.checkpoint, kind=args.kind, params=args.params, dataset=dataset, device=args.device
    )
    return _followed(client, created, args.follow)


def rerun_analysis(client: InterlockClient, args: argparse.Namespace) -> int:
    return _followed(client, client.rerun_analysis(args.id, device=args.device), args.follow)


def _dataset_name(dataset: dict[str, Any] | None) -> str:
    if dataset is None:
        return "default"
    return f"uploaded {dataset['id']}" if "id" in dataset else str(dataset["name"])


def list_analyses(client: InterlockClient, args: argparse.Namespace) -> int:
    page = client.analyses(checkpoint=args.checkpoint, kind=args.kind, state=args.state, page=args.page)
    print_page(
        page,
        as_json=args.json,
        noun="analysis",
        plural="analyses",
        line=lambda a: (
            f"{a['id']}  {a['kind']:<20} {a['state']:<9} {round(100 * a['progress']):>3}%  "
            f"{minute(a['created_at'])}  {a['checkpoint_name']}  ({_dataset_name(a['dataset'])})"
        ),
    )
    return 0


def _print_analysis(client: InterlockClient, state: dict[str, Any], plots: Path | None) -> None:
    # a failure reads "IndexError — list index out of range": the exception's class, then why
    reason = " — ".join(str(part) for part in (state.get("error_class"), state.get("message")) if part)
    print(f"{state['id']}  {state['kind']}  {state['state']}  {reason}".rstrip())
    if state.get("metrics"):
        print(json.dumps(state["metrics"], indent=2)[:20000])
    for plot in state.get("plots") or []:
        if plots is None:
            print(f"plot {plot['id']}  {plot['name']}")
            continue
        plots.mkdir(parents=True, exist_ok=True)
        target = plots / Path(plot["name"]).name  # never a path the server chose
        with target.open("wb") as handle:
            client.download(plot["id"], handle)
        print(f"plot saved: {target}")


def show_analysis(client: InterlockClient, args: argparse.Namespace) -> int:
    state = client.analysis(args.id)
    if args.json:
        print_json(state)
    else:
        _print_analysis(client, state, args.plots)
    return 0


def flat(value: object, prefix: str = "") -> dict[str, object]:
    """Scalars of nested JSON under dotted names (`diagnostics.r_hat`); a list stands as its length,
    `[300 values]`, since traces are for plots, not for a table."""
    if isinstance(value, dict):
        out: dict[str, object] = {}
        for key, item in value.items():
            out.update(flat(item, f"{prefix}{key}."))
        return out
    if isinstance(value, list):
        return {prefix.rstrip("."): f"[{len(value)} values]"}
    return {prefix.rstrip("."): value}


def comparison(analyses: list[dict[str, Any]]) -> dict[str, Any]:
    """Each metric's value in each analysis (None where one lacks it), and the parameters and inputs
    that differ between them — what a reader needs to tell why the numbers differ."""
    metrics = [flat(a.get("metrics") or {}) for a in analyses]
    setups = [
        flat({"params": a["params"], "dataset": a["dataset"], "checkpoint": a["checkpoint"]})
        for a in analyses
    ]
    names = sorted({name for found in metrics for name in found})
    setup_names = sorted({name for found in setups for name in found})
    differing = {
        name: [setup.get(name) for setup in setups]
        for name in setup_names
        if len({json.dumps(setup.get(name)) for setup in setups}) > 1
    }
    return {
        "analyses": [{key: a[key] for key in ("id", "kind", "state", "checkpoint")} for a in analyses],
        "metrics": {name: [found.get(name) for found in metrics] for name in names},
        "differing_inputs": differing,
    }


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def compare_analyses(client: InterlockClient, args: argparse.Namespace) -> int:
    compared = comparison([client.analysis(analysis_id) for analysis_id in args.ids])
    if args.json:
        print_json(compared)
        return 0
    heads = [f"{a['id'][:8]} {a['kind']} ({a['state']})" for a in compared["analyses"]]
    rows = [(name, [_cell(v) for v in values]) for name, values in compared["metrics"].items()]
    rows += [
        (f"≠ {name}", [_cell(v) for v in values]) for name, values in compared["differing_inputs"].items()
    ]
    width = max([len("metric")] + [len(name) for name, _ in rows])
    widths = [max([len(head)] + [len(cells[i]) for _, cells in rows]) for i, head in enumerate(heads)]
    for name, cells in [("metric", heads), *rows]:
        aligned = (f"{cell:<{w}}" for cell, w in zip(cells, widths, strict=True))
        print("  ".join([f"{name:<{width}}", *aligned]).rstrip())
    if not compared["metrics"]:
        print("no metrics yet: an analysis has metrics once it succeeded")
    return 0


def cancel_analysis(client: InterlockClient, args: argparse.Namespace) -> int:
    cancelled = client.cancel_analysis(args.id)
    print(f"{cancelled['id']}  {cancelled['state']}")
    return 0
