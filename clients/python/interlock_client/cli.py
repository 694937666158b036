"""`interlock`: the command line for researchers. Errors exit non-zero with one readable line.

export INTERLOCK_URL=http://127.0.0.1:8000 INTERLOCK_TOKEN=ilk_…
interlock me
interlock findings list [--label green] [--tag probes] [--q induction]
interlock findings show ID
interlock upload FILE --parent-type library --parent-id ORG_ID
interlock download ARTIFACT_ID -o FILE
interlock checkpoint upload FILE --spec SPEC.json --name NAME [--series S --position N]
interlock checkpoint upload-hf FOLDER --name NAME [--series S --position N]
interlock dataset upload FILE --name NAME --format token_ids|jsonl_text [--label amber_strict|amber --hazard-tier 0]
interlock dataset list [--json]
interlock analyse CHECKPOINT_ID --kind llc [--params JSON] [--dataset NAME | --dataset-id ID] [--dataset-params JSON] [--device gpu]
interlock analysis show ID [--plots DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from tqdm import tqdm

from interlock_client.client import InterlockClient, InterlockError, hf_folder_files


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="interlock", description="Interlock command line")
    parser.add_argument("--url", default=os.environ.get("INTERLOCK_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--token", default=os.environ.get("INTERLOCK_TOKEN"))
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("me")
    findings = commands.add_parser("findings").add_subparsers(dest="action", required=True)
    listing = findings.add_parser("list")
    for name in ("label", "state", "tag", "q"):
        listing.add_argument(f"--{name}")
    findings.add_parser("show").add_argument("id")
    upload = commands.add_parser("upload")
    upload.add_argument("file", type=Path)
    upload.add_argument("--parent-type", required=True)
    upload.add_argument("--parent-id", required=True)
    download = commands.add_parser("download")
    download.add_argument("id")
    download.add_argument("-o", "--output", type=Path, required=True)
    checkpoint = commands.add_parser("checkpoint").add_subparsers(dest="action", required=True)
    put = checkpoint.add_parser("upload")
    put.add_argument("file", type=Path)
    put.add_argument("--spec", type=Path, required=True, help='architecture spec JSON {"family", "config"}')
    put.add_argument("--name", required=True)
    put.add_argument("--series", default="")
    put.add_argument("--position", type=int)
    put.add_argument("--hazard-tier", type=int, default=0)
    put_hf = checkpoint.add_parser(
        "upload-hf", help="a Hugging Face folder: config.json, safetensors, tokenizer"
    )
    put_hf.add_argument("folder", type=Path)
    put_hf.add_argument("--name", required=True)
    put_hf.add_argument("--series", default="")
    put_hf.add_argument("--position", type=int)
    put_hf.add_argument("--hazard-tier", type=int, default=0)
    dataset = commands.add_parser("dataset").add_subparsers(dest="action", required=True)
    put_dataset = dataset.add_parser("upload", help="your organisation's own dataset, encrypted")
    put_dataset.add_argument("file", type=Path)
    put_dataset.add_argument("--name", required=True)
    put_dataset.add_argument(
        "--format",
        required=True,
        help='token_ids (safetensors input_ids) or jsonl_text (one {"text"} a line)',
    )
    put_dataset.add_argument(
        "--label", default="amber_strict", help="amber_strict (only you) or amber (your organisation)"
    )
    put_dataset.add_argument("--hazard-tier", type=int, default=0)
    dataset.add_parser("list").add_argument("--json", action="store_true", help="the raw JSON page")
    analyse = commands.add_parser("analyse")
    analyse.add_argument("checkpoint")
    analyse.add_argument("--kind", required=True)
    analyse.add_argument("--params", default="{}", help="JSON object")
    analyse.add_argument("--dataset", default="regression", help="a built-in dataset")
    analyse.add_argument("--dataset-id", help="one of your organisation's uploaded datasets instead")
    analyse.add_argument("--dataset-params", default="{}", help="JSON object")
    analyse.add_argument("--device", choices=["cpu", "gpu"], default="cpu")
    analyse.add_argument("--no-follow", action="store_true", help="print the id and return at once")
    analysis = commands.add_parser("analysis").add_subparsers(dest="action", required=True)
    show = analysis.add_parser("show")
    show.add_argument("id")
    show.add_argument("--plots", type=Path, help="save the plots (PNG) into this folder")
    analysis.add_parser("cancel").add_argument("id")
    return parser


def _json_object(text: str, what: str) -> dict[str, object]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        raise InterlockError(0, "usage", f"{what} must be JSON, e.g. '{{}}'") from None
    if not isinstance(value, dict):
        raise InterlockError(0, "usage", f"{what} must be a JSON object")
    return value


def _follow(client: InterlockClient, analysis_id: str) -> dict[str, object]:
    with tqdm(total=100, unit="%", desc="analysis") as bar:

        def update(state: dict[str, object]) -> None:
            bar.set_postfix_str(f"{state['state']} {state.get('message') or ''}"[:60])
            bar.update(round(100 * float(state["progress"])) - bar.n)  # type: ignore[arg-type]

        return client.wait_for_analysis(analysis_id, progress=update)


def _print_analysis(client: InterlockClient, state: dict[str, object], plots: Path | None) -> None:
    # a failure reads "IndexError — list index out of range": the exception's class, then why
    reason = " — ".join(str(part) for part in (state.get("error_class"), state.get("message")) if part)
    print(f"{state['id']}  {state['kind']}  {state['state']}  {reason}".rstrip())
    if state.get("metrics"):
        print(json.dumps(state["metrics"], indent=2)[:20000])
    for plot in state.get("plots") or []:  # type: ignore[attr-defined]
        if plots is None:
            print(f"plot {plot['id']}  {plot['name']}")
            continue
        plots.mkdir(parents=True, exist_ok=True)
        target = plots / Path(plot["name"]).name
        with target.open("wb") as handle:
            client.download(plot["id"], handle)
        print(f"plot saved: {target}")


def run(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not args.token:
        print("error: give an API token with --token or INTERLOCK_TOKEN", file=sys.stderr)
        return 2
    with InterlockClient(args.url, args.token) as client:
        try:
            if args.command == "me":
                print(json.dumps(client.me(), indent=2))
            elif args.command == "findings" and args.action == "list":
                page = client.findings(label=args.label, state=args.state, tag=args.tag, q=args.q)
                for finding in page["results"]:
                    print(
                        f"{finding['id']}  {finding['label_display']:<17} H{finding['hazard_tier']}  {finding['title']}"
                    )
                more = "+" if page.get("count_is_lower_bound") else ""
                print(f"{page['count']}{more} finding(s)")
            elif args.command == "findings" and args.action == "show":
                finding = client.finding(args.id)
                print(
                    f"{finding['label_display']}  H{finding['hazard_tier']}  {finding['title']}\n\n{finding['body']}"
                )
            elif args.command == "upload":
                if not args.file.is_file():
                    print(f"error: {args.file} is not a file", file=sys.stderr)
                    return 2
                with tqdm(total=args.file.stat().st_size, unit="B", unit_scale=True, desc="upload") as bar:
                    artifact = client.upload(
                        args.file, parent_type=args.parent_type, parent_id=args.parent_id, progress=bar.update
                    )
                print(f"{artifact['id']}  sha256 {artifact['sha256']}")
            elif args.command == "download":
                partial = args.output.with_suffix(args.output.suffix + ".part")
                with partial.open("wb") as handle, tqdm(unit="B", unit_scale=True, desc="download") as bar:
                    digest = client.download(args.id, handle, progress=bar.update)
                partial.replace(args.output)
                print(f"{args.output}  sha256 {digest}")
            elif args.command == "checkpoint" and args.action == "upload-hf":
                files = hf_folder_files(args.folder)
                total = 2 * sum(path.stat().st_size for path in files)  # hashed, then sent
                with tqdm(total=total, unit="B", unit_scale=True, desc="hash + upload") as bar:
                    uploaded = client.upload_hf_checkpoint(
                        args.folder,
                        name=args.name,
                        series=args.series,
                        position=args.position,
                        hazard_tier=args.hazard_tier,
                        progress=bar.update,
                    )
                print(
                    f"{uploaded['id']}  {len(uploaded['files'])} files  manifest sha256 {uploaded['sha256']}"
                    "  (a steward must approve it before analyses run)"
                )
            elif args.command == "checkpoint":
                if not args.file.is_file() or not args.spec.is_file():
                    print("error: give an existing checkpoint file and spec file", file=sys.stderr)
                    return 2
                spec = _json_object(args.spec.read_text(), "the spec file")
                registered = client.register_checkpoint(
                    name=args.name,
                    spec=spec,
                    series=args.series,
                    position=args.position,
                    hazard_tier=args.hazard_tier,
                )
                with tqdm(total=args.file.stat().st_size, unit="B", unit_scale=True, desc="upload") as bar:
                    client.upload(
                        args.file, parent_type="checkpoint", parent_id=registered["id"], progress=bar.update
                    )
                uploaded = client.checkpoint(registered["id"])
                print(
                    f"{uploaded['id']}  sha256 {uploaded['sha256']}  (a steward must approve it before analyses run)"
                )
            elif args.command == "dataset" and args.action == "upload":
                if not args.file.is_file():
                    print(f"error: {args.file} is not a file", file=sys.stderr)
                    return 2
                registered = client.register_dataset(
                    name=args.name, file_format=args.format, label=args.label, hazard_tier=args.hazard_tier
                )
                size = args.file.stat().st_size  # a bar on a terminal only: a refusal stays one line
                with tqdm(total=size, unit="B", unit_scale=True, desc="upload", disable=None) as bar:
                    client.upload(
                        args.file, parent_type="dataset", parent_id=registered["id"], progress=bar.update
                    )
                uploaded = client.dataset(registered["id"])
                print(f"{uploaded['id']}  {uploaded['rows']} rows  sha256 {uploaded['sha256']}")
            elif args.command == "dataset" and args.action == "list":
                page = client.datasets()
                if args.json:
                    print(json.dumps(page, indent=2))
                else:
                    for item in page["results"]:
                        shape = "-" if item["rows"] is None else f"{item['rows']} rows"
                        if item["seq_len"]:
                            shape = f"{item['rows']}×{item['seq_len']}"
                        print(
                            f"{item['id']}  {item['label']:<12} H{item['hazard_tier']}  {item['format']:<10} "
                            f"{item['state']:<15} {shape}  {item['name']}"
                        )
                    print(f"{page['count']} dataset(s)")
            elif args.command == "analyse":
                dataset_params = _json_object(args.dataset_params, "--dataset-params")
                created = client.request_analysis(
                    checkpoint=args.checkpoint,
                    kind=args.kind,
                    params=_json_object(args.params, "--params"),
                    dataset={"id": args.dataset_id, "params": dataset_params}
                    if args.dataset_id
                    else {"name": args.dataset, "params": dataset_params},
                    device=args.device,
                )
                if args.no_follow:
                    print(created["id"])
                else:
                    state = _follow(client, str(created["id"]))
                    _print_analysis(client, state, None)
                    if state["state"] != "succeeded":
                        return 1
            elif args.command == "analysis" and args.action == "show":
                _print_analysis(client, client.analysis(args.id), args.plots)
            elif args.command == "analysis" and args.action == "cancel":
                print(client.cancel_analysis(args.id)["state"])
        except InterlockError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    return 0


def main() -> None:
    sys.exit(run())
