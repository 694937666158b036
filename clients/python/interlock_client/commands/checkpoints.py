"""`interlock checkpoint …`: upload a checkpoint (one safetensors file or a Hugging Face folder),
list and read checkpoints, and — for stewards — approve and revoke them."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from tqdm import tqdm

from interlock_client.client import InterlockClient, InterlockError, hf_folder_files
from interlock_client.commands import arguments
from interlock_client.commands.artifacts import existing_file
from interlock_client.commands.output import day, print_json, print_page

STEWARD_NOTE = "(a steward must approve it before analyses run)"


def register(commands: Any) -> None:
    checkpoint = commands.add_parser("checkpoint", help="checkpoints: upload, list, show, approve, revoke")
    actions = checkpoint.add_subparsers(dest="action", required=True, metavar="ACTION")

    put = actions.add_parser("upload", help="one safetensors file and its architecture spec")
    put.add_argument("file", type=Path)
    put.add_argument("--spec", type=Path, required=True, help='architecture spec JSON {"family", "config"}')
    _describe(put)
    put.set_defaults(run=upload_checkpoint)

    put_hf = actions.add_parser(
        "upload-hf", help="a Hugging Face folder: config.json, safetensors, tokenizer"
    )
    put_hf.add_argument("folder", type=Path)
    _describe(put_hf)
    put_hf.set_defaults(run=upload_hf_checkpoint)

    listing = actions.add_parser("list", help="the checkpoints you may see, newest first")
    arguments.add_listing(listing)
    listing.set_defaults(run=list_checkpoints)

    show = actions.add_parser("show", help="a checkpoint: state, hash, approval, allowed analyses")
    show.add_argument("id")
    arguments.add_json(show)
    show.set_defaults(run=show_checkpoint)

    approve = actions.add_parser(
        "approve", help="(stewards) approve a checkpoint, bound to its hash; needs a fresh re-authentication"
    )
    approve.add_argument("id")
    approve.add_argument(
        "--level",
        type=int,
        choices=(1, 2, 3),
        required=True,
        help="AL1 metrics, AL2 activations, AL3 weights",
    )
    approve.add_argument("--sha256", required=True, help="the hash you reviewed (see `checkpoint show`)")
    arguments.add_expiry(approve, default_days=30, what="the approval")
    approve.set_defaults(run=approve_checkpoint)

    revoke = actions.add_parser("revoke", help="(stewards) revoke a checkpoint's approval; queued jobs stop")
    revoke.add_argument("id")
    revoke.add_argument("--reason", required=True)
    revoke.set_defaults(run=revoke_checkpoint)


def _describe(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name", required=True)
    parser.add_argument("--series", default="", help="an ordered series (e.g. a training run)")
    parser.add_argument("--position", type=int, help="its place in the series (e.g. the step)")
    parser.add_argument("--hazard-tier", type=int, choices=(0, 1, 2, 3), default=0)


def upload_checkpoint(client: InterlockClient, args: argparse.Namespace) -> int:
    source = existing_file(args.file)
    spec_file = existing_file(args.spec)
    try:
        spec = json.loads(spec_file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as problem:
        raise InterlockError(0, "usage", f"{spec_file} is not JSON: {problem}") from None
    if not isinstance(spec, dict):
        raise InterlockError(0, "usage", f'{spec_file} is not a JSON object {{"family", "config"}}')
    registered = client.register_checkpoint(
        name=args.name, spec=spec, series=args.series, position=args.position, hazard_tier=args.hazard_tier
    )
    with tqdm(total=source.stat().st_size, unit="B", unit_scale=True, desc="upload", disable=None) as bar:
        client.upload(source, parent_type="checkpoint", parent_id=registered["id"], progress=bar.update)
    uploaded = client.checkpoint(registered["id"])
    print(f"{uploaded['id']}  sha256 {uploaded['sha256']}  {STEWARD_NOTE}")
    return 0


def upload_hf_checkpoint(client: InterlockClient, args: argparse.Namespace) -> int:
    files = hf_folder_files(args.folder)
    total = 2 * sum(path.stat().st_size for path in files)  # hashed, then sent
    with tqdm(total=total, unit="B", unit_scale=True, desc="hash + upload", disable=None) as bar:
        uploaded = client.upload_hf_checkpoint(
            args.folder,
            name=args.name,
            series=args.series,
            position=args.position,
            hazard_tier=args.hazard_tier,
            progress=bar.update,
        )
    print(
        f"{uploaded['id']}  {len(uploaded['files'])} files  manifest sha256 {uploaded['sha256']}  {STEWARD_NOTE}"
    )
    return 0


def _approval(checkpoint: dict[str, Any]) -> str:
    approval = checkpoint.get("approval")
    if not approval:
        return "not approved"
    return f"AL{approval['access_level']} until {day(approval['expires_at'])}"


def _line(checkpoint: dict[str, Any]) -> str:
    series = f"  [{checkpoint['series']} #{checkpoint['position']}]" if checkpoint["series"] else ""
    return (
        f"{checkpoint['id']}  {checkpoint['state']:<9} H{checkpoint['hazard_tier']}  "
        f"{_approval(checkpoint):<22} {checkpoint['name']}{series}"
    )


def list_checkpoints(client: InterlockClient, args: argparse.Namespace) -> int:
    print_page(client.checkpoints(page=args.page), as_json=args.json, line=_line, noun="checkpoint")
    return 0


def show_checkpoint(client: InterlockClient, args: argparse.Namespace) -> int:
    checkpoint = client.checkpoint(args.id)
    if args.json:
        print_json(checkpoint)
        return 0
    print(_line(checkpoint))
    print(f"family   {checkpoint['spec'].get('family', '?')}  ({checkpoint['layout']})")
    print(f"sha256   {checkpoint['sha256'] or '- (not uploaded yet)'}")
    print(f"approval {_approval(checkpoint)}")
    print(f"analyses {', '.join(checkpoint['allowed_kinds']) or '-'}")
    for item in checkpoint.get("files") or []:
        print(
            f"file     {item['path']}  {item['size']} bytes  {'uploaded' if item['uploaded'] else 'missing'}"
        )
    return 0


def approve_checkpoint(client: InterlockClient, args: argparse.Namespace) -> int:
    approved = client.approve_checkpoint(
        args.id, access_level=args.level, expires_at=arguments.expiry(args), sha256=args.sha256
    )
    print(_line(approved))
    return 0


def revoke_checkpoint(client: InterlockClient, args: argparse.Namespace) -> int:
    print(_line(client.revoke_checkpoint(args.id, reason=args.reason)))
    return 0
