"""`interlock upload` and `interlock download`: encrypted files attached to a finding, checkpoint,
dataset or library, streamed with a progress bar and checked against their SHA-256."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from tqdm import tqdm

from interlock_client.client import InterlockClient, InterlockError


def register(commands: Any) -> None:
    upload = commands.add_parser("upload", help="attach a file (streamed, encrypted on arrival)")
    upload.add_argument("file", type=Path)
    upload.add_argument("--parent-type", required=True, help="finding, checkpoint, dataset or library")
    upload.add_argument("--parent-id", required=True)
    upload.set_defaults(run=upload_file)
    download = commands.add_parser("download", help="fetch a file; its SHA-256 is checked")
    download.add_argument("id")
    download.add_argument("-o", "--output", type=Path, required=True)
    download.set_defaults(run=download_file)


def existing_file(path: Path) -> Path:
    """The path, if it is a file; the usage error every upload gives otherwise."""
    if not path.is_file():
        raise InterlockError(0, "usage", f"{path} is not a file")
    return path


def upload_file(client: InterlockClient, args: argparse.Namespace) -> int:
    source = existing_file(args.file)
    with tqdm(total=source.stat().st_size, unit="B", unit_scale=True, desc="upload", disable=None) as bar:
        artifact = client.upload(
            source, parent_type=args.parent_type, parent_id=args.parent_id, progress=bar.update
        )
    print(f"{artifact['id']}  sha256 {artifact['sha256']}")
    return 0


def download_file(client: InterlockClient, args: argparse.Namespace) -> int:
    target: Path = args.output
    if not target.parent.is_dir():
        raise InterlockError(0, "usage", f"{target.parent} is not a folder")
    partial = target.with_suffix(target.suffix + ".part")  # the name appears only once verified
    try:
        with (
            partial.open("wb") as handle,
            tqdm(unit="B", unit_scale=True, desc="download", disable=None) as bar,
        ):
            digest = client.download(args.id, handle, progress=bar.update)
    except BaseException:
        partial.unlink(missing_ok=True)  # never leave bytes that were not verified
        raise
    partial.replace(target)
    print(f"{target}  sha256 {digest}")
    return 0
