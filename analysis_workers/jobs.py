"""One job on the worker: verify the ticket, claim it, fetch and decrypt the checkpoint, check its
hash, load it safely, run the registered kind, seal the result to the platform, report it.

Nothing is loaded before the ticket's signature, expiry, fleet and the blob's SHA-256 all
check out. The worker holds no database credentials: it talks to the platform's internal
job API with its credential and the ticket.
"""

from __future__ import annotations

import base64
import importlib
import io
import json
import logging
import os
import re
import socket
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from analysis_workers.datasets.uploaded import UPLOADED
from analysis_workers.kinds import registry, validate_params
from interlock_wire import (
    IntegrityError,
    JobTicket,
    ManifestEntry,
    TicketBlob,
    decrypt_stream,
    error_class_of,
    job_blob_ad,
    manifest_sha256,
    open_sealed,
    public_message,
    result_ad,
    seal,
    sign_request,
    verify_ticket,
)
from interlock_wire.manifest import refusal_for_name

if TYPE_CHECKING:
    from analysis_workers.interp.report import AnalysisReport
    from analysis_workers.runners.inputs import JobInputs


def run_report(kind_name: str, inputs: JobInputs) -> AnalysisReport:
    """The registered kind's runner on `inputs` (a `runners.inputs.JobInputs`): its
    `AnalysisReport`, whose figures are still matplotlib Figures — the worker renders them to PNG
    and SVG only after this returns, so a test reads every plot here before it is rendered."""
    module_name, function_name = registry()[kind_name].runner.split(":")
    report: AnalysisReport = getattr(importlib.import_module(module_name), function_name)(inputs)
    return report


class AnalysisInputError(Exception):
    """Permanent: the job cannot succeed as given; recorded as a failure with this message."""


class TransientWorkerError(Exception):
    """Temporary: the job should be retried."""


class JobCancelled(Exception):
    """The platform answered a progress report with "cancel": stop and report nothing."""


_log = logging.getLogger(__name__)
_PLOT_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
PROGRESS_INTERVAL_SECONDS = 1.0


@dataclass(frozen=True)
class WorkerConfig:
    platform_url: str
    fleet_id: str
    fleet_key: X25519PrivateKey
    credential: bytes
    platform_signing_public: Ed25519PublicKey
    platform_result_public: X25519PublicKey
    device: str = "cpu"

    @staticmethod
    def from_environment() -> WorkerConfig:
        def read(name: str) -> bytes:
            path = os.environ.get(name)
            if not path:
                raise RuntimeError(f"{name} is not set")
            return Path(path).read_bytes()

        return WorkerConfig(
            platform_url=os.environ.get("PLATFORM_URL", "http://127.0.0.1:8000").rstrip("/"),
            fleet_id=os.environ.get("WORKER_FLEET_ID", "cpu-fleet"),
            fleet_key=X25519PrivateKey.from_private_bytes(read("WORKER_FLEET_KEY_FILE")),
            credential=read("WORKER_CREDENTIAL_FILE"),
            platform_signing_public=Ed25519PublicKey.from_public_bytes(
                read("PLATFORM_SIGNING_PUBLIC_KEY_FILE")
            ),
            platform_result_public=X25519PublicKey.from_public_bytes(read("PLATFORM_RESULT_PUBLIC_KEY_FILE")),
            device=_worker_device(os.environ.get("WORKER_DEVICE", "cpu")),
        )


def _worker_device(name: str) -> str:
    """WORKER_DEVICE: "cpu", or "gpu" / "cuda" / "cuda:N" for a GPU worker."""
    return "cuda" if name == "gpu" else name


def describe_device(device: str) -> str:
    """What the worker advertises when it claims a job: "cpu" or "cuda:<GPU name>"."""
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise RuntimeError("WORKER_DEVICE asks for CUDA but no GPU is visible to this worker")
        return f"cuda:{torch.cuda.get_device_name(torch.device(device))}"[:40]
    return "cpu"


class PlatformLink:
    """Signed calls to the internal job API."""

    def __init__(self, config: WorkerConfig, token: str) -> None:
        self.config = config
        self.token = token
        self.http = httpx.Client(base_url=config.platform_url, timeout=120)

    def call(self, path: str, **fields: Any) -> httpx.Response:
        body = json.dumps({"ticket": self.token, **fields}).encode()
        timestamp = int(time.time())
        signature = sign_request(self.config.credential, "POST", path, body, timestamp)
        try:
            response = self.http.post(
                path,
                content=body,
                headers={
                    "Content-Type": "application/json",
                    "X-Worker-Timestamp": str(timestamp),
                    "X-Worker-Signature": signature,
                },
            )
        except httpx.HTTPError as problem:
            raise TransientWorkerError(f"platform unreachable: {problem}") from None
        if response.status_code >= 500:
            raise TransientWorkerError(f"platform error {response.status_code}")
        return response


def run_job(token: str, config: WorkerConfig, *, left_to_caller: tuple[type[Exception], ...] = ()) -> str:
    """Run one ticket to completion; returns the final state as the platform recorded it.

    Once the job is claimed, its failure is reported at once: an unexpected exception (a bug in
    a runner, a dataset, the loader or a plot) would fail the same way on every retry, so it fails
    the job for good with its class name and a public line of its message; only a transient error
    goes back to the queue, and a worker that dies is retried by the platform's sweeper when its
    lease runs out. `left_to_caller` are exceptions the caller reports itself (the Celery task's
    soft time limit, which is an `Exception` too).
    """
    ticket = verify_ticket(
        token.encode(), platform_public_key=config.platform_signing_public, fleet_id=config.fleet_id
    )
    link = PlatformLink(config, token)
    claim = link.call(
        "/internal/jobs/claim/", host=socket.gethostname(), device=describe_device(config.device)
    )
    if claim.status_code != 200:
        return f"not claimed: {claim.json().get('error', {}).get('message', claim.status_code)}"
    try:
        metrics = _execute(ticket, link, config)
        # inside the boundary: metrics that are not JSON are the runner's bug, found here
        sealed = seal(
            config.platform_result_public,
            json.dumps(metrics).encode(),
            result_ad(ticket_id=ticket.ticket_id),
        )
    except AnalysisInputError as problem:
        _report_failure(link, problem, permanent=True)
        return "failed"
    except TransientWorkerError as problem:
        _report_failure(link, problem, permanent=False)
        return "retrying"
    except JobCancelled:
        return "cancelled"
    except left_to_caller:
        raise
    except Exception as problem:  # the job's failure boundary: whatever else went wrong fails it for good
        _log.exception("job %s failed", ticket.ticket_id)  # the traceback stays in the worker's log
        _report_failure(link, problem, permanent=True)
        return "failed"
    link.call("/internal/jobs/result/", sealed_result=base64.urlsafe_b64encode(sealed).decode())
    return "succeeded"


def _report_failure(link: PlatformLink, problem: Exception, *, permanent: bool) -> None:
    """Tell the platform why the job failed: the class name and one public line of the message
    (no worker paths, keys or ticket: `interlock_wire.failures`)."""
    link.call(
        "/internal/jobs/fail/",
        error_class=error_class_of(problem),
        message=public_message(str(problem)),
        permanent=permanent,
    )


def _decrypt_blob(
    ticket: JobTicket,
    blob: TicketBlob,
    link: PlatformLink,
    config: WorkerConfig,
    sink: BinaryIO,
    what: str = "the checkpoint",
) -> None:
    """Fetch one blob, decrypt it into `sink`; AnalysisInputError unless it authenticates and its
    plaintext hashes to the approved SHA-256 (the caller discards `sink` then)."""
    response = link.call("/internal/jobs/blob/", location=blob.location)
    if response.status_code != 200:
        raise TransientWorkerError(f"could not fetch {what} ({response.status_code})")
    try:
        data_key = open_sealed(
            config.fleet_key,
            base64.urlsafe_b64decode(blob.sealed_data_key),
            job_blob_ad(ticket_id=ticket.ticket_id, location=blob.location),
        )
        info = decrypt_stream(
            io.BytesIO(response.content), sink, data_key, base64.urlsafe_b64decode(blob.associated_data)
        )
    except IntegrityError as problem:
        raise AnalysisInputError(f"{what} failed authentication: {problem}") from None
    if info.plaintext_sha256 != blob.sha256 or info.plaintext_size != blob.size:
        raise AnalysisInputError(f"{what}'s SHA-256 differs from the pinned one; nothing was loaded")


def _fetch_checkpoint(ticket: JobTicket, blob: TicketBlob, link: PlatformLink, config: WorkerConfig) -> bytes:
    """A single-file checkpoint's plaintext, only if it authenticates and hashes to the approved SHA-256."""
    plaintext = io.BytesIO()
    _decrypt_blob(ticket, blob, link, config, plaintext)
    return plaintext.getvalue()


def _fetch_folder(
    ticket: JobTicket,
    files: dict[str, TicketBlob],
    approved_manifest: str,
    link: PlatformLink,
    config: WorkerConfig,
) -> Path:
    """A Hugging Face folder checkpoint written file by file into the job's private scratch
    directory (the sandbox wipes it), each file checked against its approved hash, then the
    manifest hash recomputed from what arrived and compared with the one the approval binds."""
    folder = Path(tempfile.mkdtemp(prefix="checkpoint-"))
    entries = []
    for path, blob in sorted(files.items()):
        reason = refusal_for_name(path)
        if reason is not None:
            raise AnalysisInputError(f"the checkpoint folder names {path[:64]!a}: {reason}")
        with (folder / path).open("xb") as sink:
            _decrypt_blob(ticket, blob, link, config, sink)
        entries.append(ManifestEntry(path, blob.sha256, blob.size))
    if manifest_sha256(entries) != approved_manifest:
        raise AnalysisInputError(
            "the checkpoint's files differ from the approved manifest; nothing was loaded"
        )
    return folder


def _fetch_inputs(ticket: JobTicket, link: PlatformLink, config: WorkerConfig) -> list[bytes | Path]:
    """Every input, fetched and verified before any of them is loaded: one file's bytes, or a
    folder's path (`extra["inputs"]` groups a folder's blobs; older tickets carry one blob each)."""
    by_location = {blob.location: blob for blob in ticket.blobs}
    described = ticket.extra.get("inputs") or [
        {"layout": "file", "sha256": blob.sha256, "files": {"": blob.location}} for blob in ticket.blobs
    ]
    sources: list[bytes | Path] = []
    for item in described:
        try:
            files = {str(path): by_location[str(location)] for path, location in dict(item["files"]).items()}
        except (KeyError, TypeError, ValueError):
            raise AnalysisInputError("the ticket's inputs do not match its blobs") from None
        if item.get("layout") == "hf_folder":
            sources.append(_fetch_folder(ticket, files, str(item["sha256"]), link, config))
        elif len(files) == 1:
            sources.append(_fetch_checkpoint(ticket, next(iter(files.values())), link, config))
        else:
            raise AnalysisInputError("a single-file checkpoint has exactly one blob")
    return sources


_HALF_PRECISION = ("float16", "bfloat16")


def _check_memory(spec: Any, params: dict[str, Any], dataset: dict[str, Any], *, models: int) -> None:
    """CheckpointError with the figure and the budget when the job would not fit this worker
    (estimated from the spec and the params alone, before anything is fetched or loaded)."""
    from analysis_workers import zoo

    config = spec.family.config_to_dict(spec.config)
    dtype = str(config.get("torch_dtype") or config.get("dtype") or "float32")
    dataset_params = dataset.get("params") or {}
    seq_len = int(dataset_params.get("seq_len") or (3 if dataset.get("name") == "modular_addition" else 1))
    batch = params.get("batch_size") or params.get("max_prompts") or params.get("probe_size") or 1
    zoo.check_memory_budget(
        spec,
        dtype_bytes=2 if dtype in _HALF_PRECISION else 4,
        num_chains=int(params.get("num_chains", 1)),
        batch_size=int(batch),
        seq_len=seq_len,
        models=models,
        budget_bytes=zoo.worker_memory_budget_bytes(),
    )


def _dataset_location(ticket: JobTicket) -> str | None:
    """Where an uploaded dataset's blob is (`extra["dataset"]["location"]`); None for a built-in one."""
    described = ticket.extra.get("dataset") or {}
    return str(described.get("location")) if described.get("name") == UPLOADED else None


def _fetch_dataset(ticket: JobTicket, location: str, link: PlatformLink, config: WorkerConfig) -> bytes:
    """An uploaded dataset's plaintext, only if it authenticates and hashes to the pinned SHA-256."""
    blob = next((b for b in ticket.blobs if b.location == location), None)
    if blob is None:
        raise AnalysisInputError("the ticket names a dataset it does not carry")
    plaintext = io.BytesIO()
    _decrypt_blob(ticket, blob, link, config, plaintext, what="the dataset")
    return plaintext.getvalue()


def _execute(ticket: JobTicket, link: PlatformLink, config: WorkerConfig) -> dict[str, Any]:
    kind = registry().get(ticket.kind)
    if kind is None:
        raise AnalysisInputError(f"unknown analysis kind {ticket.kind!r}")
    try:
        params = validate_params(ticket.kind, ticket.params)
    except ValueError as problem:
        raise AnalysisInputError(str(problem)) from None
    location = _dataset_location(ticket)
    # the checkpoints: a folder counts once; an uploaded dataset's blob is no checkpoint
    checkpoints = len(ticket.extra.get("inputs") or [b for b in ticket.blobs if b.location != location])
    if not checkpoints or (checkpoints > 1 and not kind.series):
        raise AnalysisInputError(
            f"{ticket.kind} takes {'a series of' if kind.series else 'one'} checkpoint(s)"
        )
    from analysis_workers import datasets, zoo
    from analysis_workers.runners.inputs import JobInputs

    try:
        spec = zoo.validate_spec(ticket.extra["spec"])
        _check_memory(spec, params, ticket.extra["dataset"], models=checkpoints)
    except zoo.CheckpointError as problem:
        raise AnalysisInputError(f"the job was refused before loading: {problem}") from None
    # Every blob is verified before any of them is loaded.
    sources = _fetch_inputs(ticket, link, config)
    dataset_bytes = _fetch_dataset(ticket, location, link, config) if location is not None else None
    try:
        models = [zoo.load_checkpoint(spec, source) for source in sources]
    except zoo.CheckpointError as problem:
        raise AnalysisInputError(f"the checkpoint was refused: {problem}") from None
    dataset_name = ticket.extra["dataset"]["name"]
    dataset_params = ticket.extra["dataset"]["params"]
    try:
        known = datasets.registry().get(dataset_name)
        if dataset_bytes is not None:
            from analysis_workers.datasets.uploaded_build import build_uploaded

            folder = sources[-1] if isinstance(sources[-1], Path) else None
            dataset = build_uploaded(
                ticket.extra["dataset"], dataset_bytes, spec=ticket.extra["spec"], folder=folder
            )
        elif known is not None and known.labelled_by_model:
            in_dim = getattr(spec.config, "in_dim", None) or spec.config.dims[0]
            dataset = datasets.build_for_model(dataset_name, dataset_params, model=models[-1], in_dim=in_dim)
        else:
            dataset = datasets.build(dataset_name, dataset_params)
    except ValueError as problem:
        raise AnalysisInputError(f"the dataset could not be built: {problem}") from None

    last_report = [0.0]

    def progress(fraction: float) -> None:
        # At most one report a second: each is an HTTP call and a row update on the platform.
        now = time.monotonic()
        if now - last_report[0] < PROGRESS_INTERVAL_SECONDS and fraction < 1.0:
            return
        last_report[0] = now
        answer = link.call(
            "/internal/jobs/progress/", progress=fraction, message=f"{ticket.kind}: {fraction:.0%}"
        )
        if answer.status_code == 200 and answer.json().get("cancel"):
            raise JobCancelled

    labels = [str(label) for label in ticket.extra.get("labels", [blob.location for blob in ticket.blobs])]
    started = time.perf_counter()
    try:
        report = run_report(
            ticket.kind, JobInputs(spec, models, labels, dataset, params, progress, config.device)
        )
    except ValueError as problem:
        raise AnalysisInputError(f"{ticket.kind} cannot run on this input: {str(problem)[:300]}") from None
    plots = {
        name: base64.urlsafe_b64encode(report.png_bytes(name)).decode()
        for name in report.figures
        if _PLOT_NAME.match(name)
    }
    vectors = {
        name: base64.urlsafe_b64encode(report.svg_bytes(name)).decode()
        for name in report.figures
        if _PLOT_NAME.match(name)
    }
    return {
        "metrics": report.metrics,
        "plots": plots,
        "plots_svg": vectors,
        "seconds": time.perf_counter() - started,
    }
