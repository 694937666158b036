"""Uploaded datasets for the tests: token-id files and JSONL text built in code, registered and
uploaded over HTTP as an organisation's member would."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import torch
from django.utils import timezone
from safetensors.torch import save

from analysis_workers import zoo
from interlock.checkpoints.services import checkpoint_approve, checkpoint_register
from tests.interlock.builders import principal_for

VOCAB, CONTEXT = 16, 8
TOKEN_SPEC = {
    "family": "transformer",
    "config": {
        "d_vocab": VOCAB,
        "n_ctx": CONTEXT,
        "d_model": 16,
        "n_heads": 2,
        "d_head": 8,
        "d_mlp": 32,
        "n_layers": 1,
        "act_fn": "relu",
        "normalization": None,
        "attn_only": False,
    },
}


def token_file(ids: torch.Tensor, mask: torch.Tensor | None = None) -> bytes:
    """A safetensors token-id file: `input_ids` (N, T) and optionally `attention_mask` (N, T)."""
    tensors = {"input_ids": ids.contiguous()}
    if mask is not None:
        tensors["attention_mask"] = mask.contiguous()
    return save(tensors)


def jsonl_file(texts: list[str]) -> bytes:
    return "".join(json.dumps({"text": text}) + "\n" for text in texts).encode()


def random_tokens(rows: int, seq_len: int, vocab: int, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, vocab, (rows, seq_len), generator=torch.Generator().manual_seed(seed))


def register_dataset(
    api: Any, *, name: str = "our corpus", file_format: str = "token_ids", **extra: Any
) -> Any:
    """POST /api/v1/datasets/; the response."""
    return api.post("/api/v1/datasets/", {"name": name, "format": file_format, **extra}, format="json")


def upload_dataset_file(api: Any, dataset_id: str, data: bytes, filename: str = "data.safetensors") -> Any:
    return api.generic(
        "POST",
        f"/api/v1/artifacts/?parent_type=dataset&parent_id={dataset_id}&filename={filename}",
        data,
        content_type="application/octet-stream",
    )


def uploaded_dataset(
    api: Any, data: bytes, *, file_format: str = "token_ids", **extra: Any
) -> dict[str, Any]:
    """A dataset registered and its file uploaded by the person behind `api`; its JSON as read back."""
    registered = register_dataset(api, file_format=file_format, **extra)
    assert registered.status_code == 201, registered.content
    dataset_id = registered.json()["id"]
    uploaded = upload_dataset_file(api, dataset_id, data)
    assert uploaded.status_code == 201, uploaded.content
    answer = api.get(f"/api/v1/datasets/{dataset_id}/")
    assert answer.status_code == 200, answer.content
    return dict(answer.json())


def approved_checkpoint_for(
    owner: Any, steward: Any, api: Any, *, spec: dict[str, Any] = TOKEN_SPEC, tier: int = 0
) -> Any:
    """A checkpoint of `spec` (a small token model by default) uploaded by `owner` over HTTP through
    `api` and approved by `steward` at level 3."""
    checkpoint = checkpoint_register(actor=principal_for(owner), name="model", spec=spec, hazard_tier=tier)
    weights = zoo.save_checkpoint(zoo.build(spec, generator=torch.Generator().manual_seed(0)), spec)
    answer = api.generic(
        "POST",
        f"/api/v1/artifacts/?parent_type=checkpoint&parent_id={checkpoint.uuid}",
        weights,
        content_type="application/octet-stream",
    )
    assert answer.status_code == 201, answer.content
    checkpoint.refresh_from_db()
    checkpoint_approve(
        actor=principal_for(steward),
        checkpoint_uuid=checkpoint.uuid,
        access_level=3,
        expires_at=timezone.now() + timedelta(days=1),
        sha256=checkpoint.sha256,
    )
    return checkpoint
