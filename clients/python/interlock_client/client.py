"""The HTTP client: bearer-token auth, one error type, retries for transient failures, streaming.

Labels are accepted as the API writes them (`amber_strict`) or as people do (`TLP:AMBER+STRICT`).

Every non-2xx answer becomes `InterlockError(status, code, message, fields)` built from the
API's `{"error": {...}}` body. Connection errors, timeouts and 502/503/504 answers to safe
requests are retried with exponential backoff; uploads are not retried (they are not
idempotent), downloads are verified against the server's SHA-256.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import httpx

from interlock_client.labels import tlp_label

RETRY_STATUSES = {502, 503, 504}
CHUNK = 1024 * 1024
# Files a Hugging Face folder often holds that are not part of the model: left behind, named.
NOT_MODEL_FILES = frozenset({"README.md", ".gitattributes", "LICENSE", "training_args.json"})


def hf_folder_files(folder: Path) -> list[Path]:
    """The folder's files to upload, sorted; InterlockError when it is not a checkpoint folder.

    Hidden files and a few well-known non-model files are left out; anything else goes up and the
    platform decides (it refuses pickles and code by name, with the reason)."""
    if not folder.is_dir():
        raise InterlockError(0, "usage", f"{folder} is not a folder")
    if not (folder / "config.json").is_file():
        raise InterlockError(0, "usage", f"{folder} has no config.json: not a Hugging Face checkpoint folder")
    hf_folder_config(folder)  # refused before any progress is shown
    return sorted(
        path
        for path in folder.iterdir()
        if path.is_file() and not path.name.startswith(".") and path.name not in NOT_MODEL_FILES
    )


def hf_folder_config(folder: Path) -> dict[str, Any]:
    """The folder's config.json as a JSON object; InterlockError (one line) when it is not one."""
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as problem:
        raise InterlockError(0, "usage", f"{folder}/config.json is not JSON: {problem}") from None
    if not isinstance(config, dict):
        raise InterlockError(0, "usage", f"{folder}/config.json is not a JSON object")
    return config


def _sha256_file(path: Path, progress: Callable[[int], None] | None) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            if progress:
                progress(len(chunk))
    return digest.hexdigest()


class InterlockError(Exception):
    def __init__(self, status: int, code: str, message: str, fields: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields or {}

    def __str__(self) -> str:
        detail = "; ".join(
            f"{k}: {', '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in self.fields.items()
        )
        where = f" ({self.status} {self.code})" if self.status else ""  # a local refusal has no status
        return f"{self.message}{where}{' — ' + detail if detail else ''}"


def _label(text: str) -> str:
    try:
        return tlp_label(text)
    except ValueError as problem:
        raise InterlockError(0, "usage", str(problem)) from None


def _page(page: int | None, **filters: str | None) -> dict[str, str]:
    """Query parameters of a listing: the filters given, and the page when one is asked for."""
    params = {key: value for key, value in filters.items() if value}
    if page is not None:
        params["page"] = str(page)
    return params


def _rerun_dataset(dataset: dict[str, Any] | None) -> dict[str, Any] | None:
    """An analysis's `dataset` as a new request takes it: an uploaded one by id, a built-in by name."""
    if dataset is None:
        return None
    if "id" in dataset:
        return {"id": dataset["id"], "params": dataset.get("params") or {}}
    return {"name": dataset["name"], "params": dataset.get("params") or {}}


class InterlockClient:
    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 60.0,
        retries: int = 3,
        backoff: float = 0.5,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.retries = retries
        self.backoff = backoff
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=timeout,
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> InterlockClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- plumbing ---------------------------------------------------------------------------

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        safe = method in ("GET", "HEAD")
        attempts = self.retries + 1 if safe else 1
        for attempt in range(attempts):
            try:
                response = self._http.request(method, path, **kwargs)
            except httpx.TransportError as failure:  # refused, timed out, cut off, no such scheme
                if attempt == attempts - 1:
                    raise InterlockError(0, "network", f"could not reach the server: {failure}") from None
            else:
                if response.status_code in RETRY_STATUSES and attempt < attempts - 1:
                    response.close()
                else:
                    return self._checked(response)
            time.sleep(self.backoff * 2**attempt)
        raise InterlockError(0, "network", "the server did not answer")  # pragma: no cover

    @staticmethod
    def _checked(response: httpx.Response) -> httpx.Response:
        if response.is_success:
            return response
        try:
            error = response.json()["error"]
            raise InterlockError(
                response.status_code,
                error.get("code", "error"),
                error.get("message", ""),
                error.get("fields"),
            )
        except (ValueError, KeyError, TypeError):
            raise InterlockError(
                response.status_code, "http_error", response.reason_phrase or "request failed"
            ) from None

    # --- the API ------------------------------------------------------------------------------

    def me(self) -> dict[str, Any]:
        return self._request("GET", "/api/v1/me/").json()

    def findings(self, *, page: int | None = None, **filters: str | None) -> dict[str, Any]:
        """A page of the findings you may see; `label` as `amber` or `TLP:AMBER`."""
        if filters.get("label"):
            filters["label"] = _label(str(filters["label"]))
        return self._request("GET", "/api/v1/findings/", params=_page(page, **filters)).json()

    def finding(self, finding_id: str) -> dict[str, Any]:
        return self._request("GET", f"/api/v1/findings/{finding_id}/").json()

    def create_finding(
        self,
        *,
        title: str,
        body: str,
        label: str = "amber_strict",
        hazard_tier: int = 0,
        tags: list[str] | None = None,
    ) -> dict[str, Any]:
        payload = {
            "title": title,
            "body": body,
            "label": _label(label),
            "hazard_tier": hazard_tier,
            "tags": tags or [],
        }
        return self._request("POST", "/api/v1/findings/", json=payload).json()

    def comment_on_finding(self, finding_id: str, body: str, *, parent: str | None = None) -> dict[str, Any]:
        """Add a comment (a reply to `parent`, a comment id, when given); returns its id."""
        payload: dict[str, Any] = {"body": body}
        if parent:
            payload["parent"] = parent
        return self._request("POST", f"/api/v1/findings/{finding_id}/comments/", json=payload).json()

    def finding_comments(self, finding_id: str) -> list[dict[str, Any]]:
        return self._request("GET", f"/api/v1/findings/{finding_id}/comments/").json()

    def share_finding(
        self,
        finding_id: str,
        *,
        label: str,
        own_org: bool = False,
        network: bool = False,
        groups: list[str] | None = None,
        tags: list[str] | None = None,
    ) -> dict[str, Any]:
        """Set the finding's label and audience (the platform refuses combinations TLP forbids)."""
        payload: dict[str, Any] = {
            "label": _label(label),
            "audience_own_org": own_org,
            "audience_network": network,
            "groups": groups or [],
        }
        if tags is not None:
            payload["tags"] = tags
        return self._request("POST", f"/api/v1/findings/{finding_id}/share/", json=payload).json()

    def grant_finding(
        self, finding_id: str, *, person: str, capability: str, expires_at: str, reason: str
    ) -> dict[str, Any]:
        """Give a named person `read_finding` or `comment_finding` until `expires_at` (ISO 8601)."""
        payload = {"person": person, "capability": capability, "expires_at": expires_at, "reason": reason}
        return self._request("POST", f"/api/v1/findings/{finding_id}/grants/", json=payload).json()

    def register_checkpoint(
        self,
        *,
        name: str,
        spec: dict[str, Any],
        series: str = "",
        position: int | None = None,
        hazard_tier: int = 0,
    ) -> dict[str, Any]:
        """Register a checkpoint (its architecture spec is checked now); upload its file next."""
        payload: dict[str, Any] = {"name": name, "spec": spec, "series": series, "hazard_tier": hazard_tier}
        if position is not None:
            payload["position"] = position
        return self._request("POST", "/api/v1/checkpoints/", json=payload).json()

    def upload_hf_checkpoint(
        self,
        folder: Path,
        *,
        name: str,
        series: str = "",
        position: int | None = None,
        hazard_tier: int = 0,
        progress: Callable[[int], None] | None = None,
    ) -> dict[str, Any]:
        """Register a Hugging Face folder (config.json, weights, tokenizer files) as one checkpoint
        and upload each file; the platform pins them by one manifest hash a steward approves.

        The spec is `{"family": "hf_causal_lm", "config": <config.json>}`; every file's SHA-256 and
        size are declared first, so a file that changes on the way is refused. `progress(bytes)`
        after each chunk, over hashing and sending (twice the folder's size in all)."""
        files = hf_folder_files(folder)
        config = hf_folder_config(folder)
        manifest = [
            {"path": path.name, "sha256": _sha256_file(path, progress), "size": path.stat().st_size}
            for path in files
        ]
        payload: dict[str, Any] = {
            "name": name,
            "spec": {"family": "hf_causal_lm", "config": config},
            "series": series,
            "hazard_tier": hazard_tier,
            "files": manifest,
        }
        if position is not None:
            payload["position"] = position
        registered = self._request("POST", "/api/v1/checkpoints/", json=payload).json()
        for path in files:
            self.upload(path, parent_type="checkpoint", parent_id=registered["id"], progress=progress)
        return self.checkpoint(registered["id"])

    def register_dataset(
        self, *, name: str, file_format: str, label: str = "amber_strict", hazard_tier: int = 0
    ) -> dict[str, Any]:
        """Register an organisation's own dataset (`token_ids`: safetensors `input_ids` (N, T) and
        optionally `attention_mask`; `jsonl_text`: one {"text": ...} a line) with its TLP label
        (`amber_strict`: only you; `amber`: your organisation) and hazard tier; upload its file next."""
        payload = {"name": name, "format": file_format, "label": _label(label), "hazard_tier": hazard_tier}
        return self._request("POST", "/api/v1/datasets/", json=payload).json()

    def upload_dataset(
        self,
        path: Path,
        *,
        name: str,
        file_format: str,
        label: str = "amber_strict",
        hazard_tier: int = 0,
        progress: Callable[[int], None] | None = None,
    ) -> dict[str, Any]:
        """Register a dataset and upload its file; the platform checks the file against its format
        and pins its SHA-256. Returns the dataset as read back."""
        registered = self.register_dataset(
            name=name, file_format=file_format, label=label, hazard_tier=hazard_tier
        )
        self.upload(path, parent_type="dataset", parent_id=registered["id"], progress=progress)
        return self.dataset(registered["id"])

    def datasets(self, *, page: int | None = None) -> dict[str, Any]:
        """The datasets you may see (a page: `results`, `count`)."""
        return self._request("GET", "/api/v1/datasets/", params=_page(page)).json()

    def dataset(self, dataset_id: str) -> dict[str, Any]:
        return self._request("GET", f"/api/v1/datasets/{dataset_id}/").json()

    def checkpoint(self, checkpoint_id: str) -> dict[str, Any]:
        return self._request("GET", f"/api/v1/checkpoints/{checkpoint_id}/").json()

    def checkpoints(self, *, page: int | None = None) -> dict[str, Any]:
        """The checkpoints you may see, newest first (a page: `results`, `count`)."""
        return self._request("GET", "/api/v1/checkpoints/", params=_page(page)).json()

    def approve_checkpoint(
        self, checkpoint_id: str, *, access_level: int, expires_at: str, sha256: str
    ) -> dict[str, Any]:
        """A steward approves the checkpoint whose file hashes to `sha256` at an access level.

        The platform asks for a re-authentication younger than ten minutes first, which only a
        browser session can give: with a token this is refused with a message saying so."""
        payload = {"access_level": access_level, "expires_at": expires_at, "sha256": sha256}
        return self._request("POST", f"/api/v1/checkpoints/{checkpoint_id}/approve/", json=payload).json()

    def revoke_checkpoint(self, checkpoint_id: str, *, reason: str) -> dict[str, Any]:
        return self._request(
            "POST", f"/api/v1/checkpoints/{checkpoint_id}/revoke/", json={"reason": reason}
        ).json()

    def request_analysis_access(self, checkpoint_id: str, *, reason: str) -> dict[str, Any]:
        """Ask another organisation for analysis access to its checkpoint. The answer is the same
        whether or not the checkpoint exists (its admins are asked if it does)."""
        payload = {"checkpoint": checkpoint_id, "reason": reason}
        return self._request("POST", "/api/v1/analysis-access/", json=payload).json()

    def analysis_access_pending(self) -> dict[str, Any]:
        """The access requests you may decide (`results`); empty unless you are a cleared org admin."""
        return self._request("GET", "/api/v1/analysis-access/").json()

    def decide_analysis_access(self, grant_id: str, *, approve: bool, days: int = 30) -> dict[str, Any]:
        payload = {"approve": approve, "days": days}
        return self._request("POST", f"/api/v1/analysis-access/{grant_id}/decide/", json=payload).json()

    def analysis_kinds(self) -> dict[str, Any]:
        return self._request("GET", "/api/v1/analysis-kinds/").json()

    def request_analysis(
        self,
        *,
        checkpoint: str,
        kind: str,
        params: dict[str, Any] | None = None,
        dataset: dict[str, Any] | None = None,
        device: str = "cpu",
    ) -> dict[str, Any]:
        payload = {
            "checkpoint": checkpoint,
            "kind": kind,
            "params": params or {},
            "dataset": dataset,
            "device": device,
        }
        return self._request("POST", "/api/v1/analyses/", json=payload).json()

    def analysis(self, analysis_id: str) -> dict[str, Any]:
        return self._request("GET", f"/api/v1/analyses/{analysis_id}/").json()

    def analyses(
        self,
        *,
        checkpoint: str | None = None,
        kind: str | None = None,
        state: str | None = None,
        page: int | None = None,
    ) -> dict[str, Any]:
        """The analyses you may see, newest first, without their metrics (a page)."""
        params = _page(page, checkpoint=checkpoint, kind=kind, state=state)
        return self._request("GET", "/api/v1/analyses/", params=params).json()

    def rerun_analysis(self, analysis_id: str, *, device: str | None = None) -> dict[str, Any]:
        """Request the analysis again: the same checkpoint, kind, parameters and dataset (and device,
        unless another is given). The new request is checked as any other, against today's approval."""
        earlier = self.analysis(analysis_id)
        return self.request_analysis(
            checkpoint=earlier["checkpoint"],
            kind=earlier["kind"],
            params=earlier["params"],
            dataset=_rerun_dataset(earlier["dataset"]),
            device=device or ("gpu" if earlier["device"].startswith(("gpu", "cuda")) else "cpu"),
        )

    def cancel_analysis(self, analysis_id: str) -> dict[str, Any]:
        return self._request("POST", f"/api/v1/analyses/{analysis_id}/cancel/").json()

    def disclosures(self, *, calls: bool = False, page: int | None = None) -> dict[str, Any]:
        """The disclosure cases you may see (or, with `calls`, the open calls for reviewers)."""
        params = _page(page, calls="1" if calls else None)
        return self._request("GET", "/api/v1/disclosures/", params=params).json()

    def disclosure(self, case_id: str) -> dict[str, Any]:
        return self._request("GET", f"/api/v1/disclosures/{case_id}/").json()

    def vote_on_disclosure(self, case_id: str, *, choice: str, rationale: str) -> dict[str, Any]:
        """A seated reviewer votes `approve`, `approve_with_changes` or `reject`, with a rationale."""
        payload = {"choice": choice, "rationale": rationale}
        return self._request("POST", f"/api/v1/disclosures/{case_id}/vote/", json=payload).json()

    def wait_for_analysis(
        self,
        analysis_id: str,
        *,
        timeout: float = 3600.0,
        poll: float = 1.0,
        progress: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        """Poll until the analysis finished (succeeded, failed or cancelled); `progress(state)` each poll."""
        deadline = time.monotonic() + timeout
        while True:
            state = self.analysis(analysis_id)
            if progress:
                progress(state)
            if state["state"] in ("succeeded", "failed", "cancelled"):
                return state
            if time.monotonic() > deadline:
                raise InterlockError(
                    0, "timeout", f"analysis {analysis_id} still {state['state']} after {timeout:.0f} s"
                )
            time.sleep(poll)

    def upload(
        self, path: Path, *, parent_type: str, parent_id: str, progress: Callable[[int], None] | None = None
    ) -> dict[str, Any]:
        """Stream a file up (never read whole into memory); `progress(bytes_sent)` after each chunk."""
        size = path.stat().st_size

        def chunks() -> Iterator[bytes]:
            with path.open("rb") as handle:
                while chunk := handle.read(CHUNK):
                    if progress:
                        progress(len(chunk))
                    yield chunk

        response = self._request(
            "POST",
            "/api/v1/artifacts/",
            params={"parent_type": parent_type, "parent_id": parent_id, "filename": path.name},
            content=chunks(),
            headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)},
        )
        return response.json()

    def download(
        self, artifact_id: str, destination: BinaryIO, *, progress: Callable[[int], None] | None = None
    ) -> str:
        """Stream an artifact into `destination`; returns its SHA-256 after checking the server's."""
        digest = hashlib.sha256()
        try:
            with self._http.stream("GET", f"/api/v1/artifacts/{artifact_id}/content/") as response:
                if not response.is_success:
                    response.read()
                    self._checked(response)
                expected = response.headers.get("X-Artifact-SHA256", "")
                try:
                    for chunk in response.iter_bytes(CHUNK):
                        digest.update(chunk)
                        destination.write(chunk)
                        if progress:
                            progress(len(chunk))
                except httpx.HTTPError:
                    raise InterlockError(
                        0, "aborted", "the download was cut off: do not trust the partial file"
                    ) from None
        except httpx.TransportError as failure:  # before the first byte: nothing was written
            raise InterlockError(0, "network", f"could not reach the server: {failure}") from None
        if expected and digest.hexdigest() != expected:
            raise InterlockError(0, "integrity", "the downloaded bytes do not match the artifact's SHA-256")
        return digest.hexdigest()
