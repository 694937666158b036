"""`interlock dataset …`: an organisation's own datasets, uploaded encrypted, listed."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from tqdm import tqdm

from interlock_client.client import InterlockClient
from interlock_client.commands import arguments
from interlock_client.commands.artifacts import existing_file
from interlock_client.commands.output import print_page


def register(commands: Any) -> None:
    dataset = commands.add_parser("dataset", help="your organisation's datasets: upload, list")
    actions = dataset.add_subparsers(dest="action", required=True, metavar="ACTION")

    put = actions.add_parser("upload", help="your organisation's own dataset, encrypted")
    put.add_argument("file", type=Path)
    put.add_argument("--name", required=True)
    put.add_argument(
        "--format",
        required=True,
        help='token_ids (safetensors input_ids) or jsonl_text (one {"text"} a line)',
    )
    put.add_argument(
        "--label",
        type=arguments.label,
        default="amber_strict",
        help="amber_strict / TLP:AMBER+STRICT (only you) or amber / TLP:AMBER (your organisation)",
    )
    put.add_argument("--hazard-tier", type=int, choices=(0, 1, 2, 3), default=0)
    put.set_defaults(run=upload_dataset)

    listing = actions.add_parser("list", help="the datasets you may see")
    arguments.add_listing(listing)
    listing.set_defaults(run=list_datasets)


def upload_dataset(client: InterlockClient, args: argparse.Namespace) -> int:
    source = existing_file(args.file)
    registered = client.register_dataset(
        name=args.name, file_format=args.format, label=args.label, hazard_tier=args.hazard_tier
    )
    with tqdm(total=source.stat().st_size, unit="B", unit_scale=True, desc="upload", disable=None) as bar:
        client.upload(source, parent_type="dataset", parent_id=registered["id"], progress=bar.update)
    uploaded = client.dataset(registered["id"])
    print(f"{uploaded['id']}  {uploaded['rows']} rows  sha256 {uploaded['sha256']}")
    return 0


def _line(item: dict[str, Any]) -> str:
    shape = "-" if item["rows"] is None else f"{item['rows']} rows"
    if item["seq_len"]:
        shape = f"{item['rows']}×{item['seq_len']}"
    return (
        f"{item['id']}  {item['label']:<12} H{item['hazard_tier']}  {item['format']:<10} "
        f"{item['state']:<15} {shape}  {item['name']}"
    )


def list_datasets(client: InterlockClient, args: argparse.Namespace) -> int:
    print_page(client.datasets(page=args.page), as_json=args.json, line=_line, noun="dataset")
    return 0
