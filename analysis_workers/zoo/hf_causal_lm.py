"""The `hf_causal_lm` family on the worker: build a Hugging Face causal LM and load its checkpoint.

The spec (its config.json, checked torch-free in `analysis_workers.specs.hf`) is turned into a
model by transformers' own classes only: `AutoConfig.for_model(model_type, **config)` and
`AutoModelForCausalLM.from_config(...)`. Never the hub (`HF_HUB_OFFLINE=1` is set before
transformers is imported), never remote code, never `from_pretrained`: the weights come from
our own safetensors reader, after every check in `load_hf_checkpoint` has passed.

`HFCausalLM` is the transformers model with the zoo's hook points (`zoo.hf_hooked.HookedCausalLM`):
`model.hf` is the transformers model (in eval mode, eager attention so attention patterns exist),
`model.architecture` the `HFArchitecture`, `model.config` the hook layer's sizes, and
`model(input_ids)` returns the logits tensor (batch, seq, vocab). `model.hf.state_dict()` names
are the checkpoint's tensor names.

A checkpoint is one safetensors file (bytes) or a folder in Hugging Face layout (`config.json`
plus `model.safetensors`, or shards listed by `model.safetensors.index.json`). Tied weights
(gpt2's `lm_head.weight` is `transformer.wte.weight`) are stored once; a checkpoint may hold
either name of a tied pair, or both if they are equal. Everything is validated before any
weight is read: config.json against the spec, the index, every shard's header against the
shapes the config implies, one floating dtype throughout (kept: the model is built in it).
Tensors are then read from memory-mapped files (the pages belong to the file, not to us) and
copied once, into the model.

transformers is imported on first use, not with the zoo: it takes seconds, and most jobs never
touch this family.
"""

from __future__ import annotations

import contextlib
import json
import mmap
import os
import re
import stat
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor, nn

from analysis_workers.specs import CheckpointError
from analysis_workers.specs.hf import HFArchitecture, HFCausalLMConfig
from analysis_workers.zoo.hf_hooked import HookedCausalLM
from analysis_workers.zoo.safetensors_check import (
    DTYPE_SIZES,
    TensorEntry,
    header_length,
    validate_safetensors_header,
)

if TYPE_CHECKING:
    from transformers import PretrainedConfig, PreTrainedModel

# Before transformers (and huggingface_hub, which reads it at import) is ever imported.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

HF_DTYPES: dict[str, torch.dtype] = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}
CONFIG_FILE = "config.json"
SINGLE_FILE = "model.safetensors"
INDEX_FILE = "model.safetensors.index.json"
MAX_CONFIG_FILE_BYTES = 1024 * 1024
MAX_INDEX_FILE_BYTES = 16 * 1024 * 1024
_SHARD_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}\.safetensors$")
# Older checkpoint names transformers' loader renames (its conversion_mapping.py), per model type.
_RENAMES: dict[str, tuple[tuple[str, str], ...]] = {"gpt_neox": (("embed_out.", "lm_head."),)}
# Buffers older checkpoints saved (causal masks, rotary frequencies) that the models now recompute.
_LEGACY_BUFFER = re.compile(
    r"(^|\.)(attn\.bias|attn\.masked_bias|attention\.bias|attention\.masked_bias|rotary_emb\.inv_freq)$"
)

ExpectedTensors = dict[str, tuple[tuple[int, ...], str]]


class HFCausalLM(HookedCausalLM):
    """A transformers causal LM (`self.hf`) with the zoo's hook points (`HookedCausalLM`): forward
    returns the logits tensor, analyses address its activations by TransformerLens-style names,
    and `architecture` holds the sizes the config.json declared (the checkpoint's contract)."""

    def __init__(self, hf: PreTrainedModel, architecture: HFArchitecture) -> None:
        super().__init__(hf)
        self.architecture = architecture

    def checkpoint_state_dict(self) -> dict[str, Tensor]:
        """The tensors a checkpoint of this model holds: `hf.state_dict()` without tied duplicates."""
        duplicates = tied_duplicates(self.hf)
        return {name: t for name, t in self.hf.state_dict().items() if name not in duplicates}


def build_hf_causal_lm(
    config: HFCausalLMConfig, generator: torch.Generator | None = None, *, dtype: torch.dtype = torch.float32
) -> HFCausalLM:
    """The model, initialised by transformers under a seed drawn from `generator` (same state, same weights).

    transformers initialises from torch's global generator; that runs inside `fork_rng`, so the
    caller's global random state is left as it was.
    """
    from transformers import AutoModelForCausalLM

    hf_config = transformers_config(config)
    device = generator.device if generator is not None else torch.device("cpu")
    seed = int(torch.randint(0, 2**62, (1,), generator=generator, device=device))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        try:
            model = AutoModelForCausalLM.from_config(hf_config, attn_implementation="eager", dtype=dtype)
        except (ValueError, TypeError, KeyError, AttributeError) as problem:
            raise CheckpointError(
                f"transformers could not build the {config.architecture.model_type} model: "
                f"{_first_line(problem)}"
            ) from None
    count = sum(p.numel() for p in model.parameters())
    if count != config.architecture.parameter_count:
        raise CheckpointError(
            f"transformers built {count:,} parameters where the config implies "
            f"{config.architecture.parameter_count:,}; this config is not supported"
        )
    return HFCausalLM(model, config.architecture)


def transformers_config(config: HFCausalLMConfig) -> PretrainedConfig:
    """transformers' config object for the spec, from its own config class (no hub, no remote code)."""
    from transformers import AutoConfig
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING

    raw = config.as_dict()
    model_type = raw.pop("model_type")
    config_class = CONFIG_MAPPING[model_type]
    for key in raw:
        if callable(getattr(config_class, key, None)):
            raise CheckpointError(
                f"hf_causal_lm.config key {key!a} would replace a method of {config_class.__name__}"
            )
    try:
        built: PretrainedConfig = AutoConfig.for_model(model_type, **raw)
    except Exception as problem:  # transformers' own validation: any refusal is the config's fault
        raise CheckpointError(
            f"transformers refused the {model_type} config: {_first_line(problem)}"
        ) from None
    return built


def tied_duplicates(model: nn.Module) -> dict[str, str]:
    """duplicate name → first name, for parameters registered under several names (tied weights)."""
    first: dict[int, str] = {}
    duplicates: dict[str, str] = {}
    for name, parameter in model.named_parameters(remove_duplicate=False):
        if id(parameter) in first:
            duplicates[name] = first[id(parameter)]
        else:
            first[id(parameter)] = name
    return duplicates


@dataclass(frozen=True)
class _Layout:
    """What a checkpoint of one config must hold: state-dict shapes, tied duplicates, the base model's prefix."""

    model_type: str
    shapes: dict[str, tuple[int, ...]]
    duplicates: dict[str, str]
    base_prefix: str


@lru_cache(maxsize=16)
def _layout(config: HFCausalLMConfig) -> _Layout:
    """The layout, from a build on the meta device (no memory, no initialisation)."""
    with torch.device("meta"):
        model = build_hf_causal_lm(config, torch.Generator().manual_seed(0))
    shapes = {name: tuple(t.shape) for name, t in model.hf.state_dict().items()}
    prefix = str(getattr(model.hf, "base_model_prefix", ""))
    return _Layout(config.architecture.model_type, shapes, tied_duplicates(model.hf), prefix)


def expected_hf_tensors(config: HFCausalLMConfig, dtype: str = "F32") -> ExpectedTensors:
    """name → (shape, dtype) of the tensors a checkpoint must hold (each tied group once, by its first name)."""
    layout = _layout(config)
    return {name: (shape, dtype) for name, shape in layout.shapes.items() if name not in layout.duplicates}


# --------------------------------------------------------------------------- loading


@dataclass
class _Shard:
    """One safetensors file: its name (for messages), its bytes (or their memory map) and its entries."""

    name: str
    data: bytes | mmap.mmap
    entries: list[TensorEntry]


def load_hf_checkpoint(config: HFCausalLMConfig, source: object) -> HFCausalLM:
    """The model holding the checkpoint's weights; CheckpointError (one line) before any weight loads otherwise.

    `source` is the bytes of one safetensors file, or a folder (str or Path) in Hugging Face layout.
    """
    with contextlib.ExitStack() as stack:
        if isinstance(source, str | os.PathLike):
            shards = _open_folder(config, Path(source), stack)
        elif isinstance(source, bytes | bytearray | memoryview):
            data = bytes(source)
            shards = [_Shard("the checkpoint", data, validate_safetensors_header(data))]
        else:
            raise CheckpointError("a checkpoint is the bytes of a safetensors file or a folder path")
        dtype, mapping = _check_names(config, shards)
        # Every check has passed: only now is anything built or read.
        model = build_hf_causal_lm(config, torch.Generator().manual_seed(0), dtype=HF_DTYPES[dtype])
        _load_weights(model, shards, mapping)
    return model


def _open_folder(config: HFCausalLMConfig, folder: Path, stack: contextlib.ExitStack) -> list[_Shard]:
    if not folder.is_dir():
        raise CheckpointError("the checkpoint folder does not exist or is not a folder")
    found = _read_json(folder, CONFIG_FILE, MAX_CONFIG_FILE_BYTES)
    if found is None:
        raise CheckpointError(f"the checkpoint folder has no {CONFIG_FILE}")
    _check_same_config(found, config.as_dict())
    index = _read_json(folder, INDEX_FILE, MAX_INDEX_FILE_BYTES)
    has_single = _plain_file(folder, SINGLE_FILE) is not None
    if index is not None and has_single:
        raise CheckpointError(f"the checkpoint folder has both {SINGLE_FILE} and {INDEX_FILE}; keep one")
    if index is None and not has_single:
        raise CheckpointError(f"the checkpoint folder has neither {SINGLE_FILE} nor {INDEX_FILE}")
    weight_map = _weight_map(index) if index is not None else None
    shard_names = sorted(set(weight_map.values())) if weight_map is not None else [SINGLE_FILE]
    shards = []
    for name in shard_names:
        data = _map_file(folder, name, stack)
        shards.append(_Shard(name, data, validate_safetensors_header(data)))
    if weight_map is not None:
        _check_index_against_shards(weight_map, shards)
    return shards


def _read_json(folder: Path, name: str, limit: int) -> Any:
    """The parsed JSON file `name` in `folder` (None if absent), refusing duplicate keys and oversize files."""
    size = _plain_file(folder, name)
    if size is None:
        return None
    if size > limit:
        raise CheckpointError(f"{name} is {size:,} bytes; the limit is {limit:,}")
    with _open_no_follow(folder / name) as handle:
        raw = handle.read(limit + 1)
    try:
        return json.loads(raw.decode("utf-8"), object_pairs_hook=_refuse_duplicate_keys)
    except CheckpointError as problem:
        raise CheckpointError(f"{name}: {problem}") from None
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise CheckpointError(f"{name} is not valid UTF-8 JSON") from None


def _refuse_duplicate_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    seen: dict[str, object] = {}
    for key, value in pairs:
        if key in seen:
            raise CheckpointError(f"the key {key[:80]!a} appears twice")
        seen[key] = value
    return seen


def _check_same_config(found: object, expected: dict[str, Any]) -> None:
    if found == expected:
        return
    if not isinstance(found, dict):
        raise CheckpointError(f"{CONFIG_FILE} in the checkpoint folder is not a JSON object")
    differing = sorted(key for key in set(found) | set(expected) if found.get(key) != expected.get(key))
    shown = ", ".join(ascii(key[:40]) for key in differing[:3])
    raise CheckpointError(
        f"{CONFIG_FILE} in the checkpoint folder differs from the spec's config (keys {shown})"
    )


def _weight_map(index: object) -> dict[str, str]:
    if (
        not isinstance(index, dict)
        or not set(index) <= {"metadata", "weight_map"}
        or "weight_map" not in index
    ):
        raise CheckpointError(f"{INDEX_FILE} must be an object with weight_map (and optionally metadata)")
    if not isinstance(index.get("metadata", {}), dict):
        raise CheckpointError(f"{INDEX_FILE}: metadata must be an object")
    weight_map = index["weight_map"]
    if not isinstance(weight_map, dict) or not weight_map:
        raise CheckpointError(
            f"{INDEX_FILE}: weight_map must be a non-empty object of tensor name → shard file"
        )
    for tensor, shard in weight_map.items():
        if not isinstance(shard, str) or not _SHARD_NAME.match(shard) or ".." in shard:
            raise CheckpointError(
                f"{INDEX_FILE} puts tensor {tensor[:80]!a} in {str(shard)[:80]!a}, which is not a plain "
                "*.safetensors file name in the checkpoint folder"
            )
    return weight_map


def _check_index_against_shards(weight_map: dict[str, str], shards: list[_Shard]) -> None:
    stored: dict[str, str] = {}
    for shard in shards:
        for entry in shard.entries:
            if entry.name in stored:
                raise CheckpointError(
                    f"tensor {entry.name!a} is stored in both {stored[entry.name]} and {shard.name}"
                )
            stored[entry.name] = shard.name
    for tensor, shard_name in stored.items():
        listed = weight_map.get(tensor)
        if listed is None:
            raise CheckpointError(f"tensor {tensor!a} in {shard_name} is missing from {INDEX_FILE}")
        if listed != shard_name:
            raise CheckpointError(
                f"tensor {tensor!a} is in {shard_name} but {INDEX_FILE} puts it in {listed}"
            )
    for tensor, shard_name in weight_map.items():
        if tensor not in stored:
            raise CheckpointError(
                f"{INDEX_FILE} puts tensor {tensor[:80]!a} in {shard_name}, which does not hold it"
            )


def _plain_file(folder: Path, name: str) -> int | None:
    """The size of `folder/name` if it is a regular file (not a link); None if absent; CheckpointError otherwise."""
    try:
        info = os.lstat(folder / name)
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(info.st_mode):
        raise CheckpointError(
            f"{name} is a symbolic link; checkpoint files must be plain files in the folder"
        )
    if not stat.S_ISREG(info.st_mode):
        raise CheckpointError(f"{name} is not a regular file")
    return info.st_size


@contextlib.contextmanager
def _open_no_follow(path: Path) -> Iterator[Any]:
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(descriptor, "rb") as handle:
        yield handle


def _map_file(folder: Path, name: str, stack: contextlib.ExitStack) -> mmap.mmap:
    """A private (copy-on-write) memory map of shard `name`: its pages stay the file's until written."""
    size = _plain_file(folder, name)
    if size is None:
        raise CheckpointError(f"{INDEX_FILE} names the shard {name}, which is not in the checkpoint folder")
    if size < 8:
        raise CheckpointError(f"{name} is not a safetensors file: shorter than the 8-byte header length")
    with _open_no_follow(folder / name) as handle:
        mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_COPY)
    stack.callback(_close_quietly, mapped)
    return mapped


def _close_quietly(mapped: mmap.mmap) -> None:
    with contextlib.suppress(BufferError):  # a tensor still viewing it; unmapped when that is collected
        mapped.close()


def _checkpoint_names(layout: _Layout, shards: list[_Shard]) -> dict[str, str | None]:
    """checkpoint name → model state-dict name, or None for a legacy buffer the model recomputes.

    As transformers' own loader does for these model types: gpt_neox's `embed_out.` is `lm_head.`;
    a checkpoint of the base model alone (older gpt2 files: `h.0…`, `wte.weight`) gets the base
    model's prefix; causal-mask and rotary buffers that older files carry are not weights.
    """
    names = [entry.name for shard in shards for entry in shard.entries]
    prefix = layout.base_prefix + "."
    base_only = bool(layout.base_prefix) and not any(name.startswith(prefix) for name in names)
    mapping: dict[str, str | None] = {}
    for name in names:
        model_name = name
        for old, new in _RENAMES.get(layout.model_type, ()):
            if model_name.startswith(old):
                model_name = new + model_name[len(old) :]
        if base_only and model_name not in layout.shapes and prefix + model_name in layout.shapes:
            model_name = prefix + model_name
        if model_name in layout.shapes:
            mapping[name] = model_name
        elif _LEGACY_BUFFER.search(name):
            mapping[name] = None
        else:
            raise CheckpointError(f"the checkpoint has tensors the architecture does not: {name[:80]!a}")
    return mapping


def _check_names(config: HFCausalLMConfig, shards: list[_Shard]) -> tuple[str, dict[str, str | None]]:
    """(the checkpoint's dtype, its names mapped) if every required tensor is present once (either name
    of a tied pair), nothing unknown, one floating dtype, shapes as the config says."""
    layout = _layout(config)
    mapping = _checkpoint_names(layout, shards)
    dtypes = sorted({e.dtype for shard in shards for e in shard.entries if mapping[e.name] is not None})
    if len(dtypes) != 1:
        shown = ", ".join(dtypes) or "none (no weights)"
        raise CheckpointError(f"the checkpoint's tensors must share one dtype; found {shown}")
    if dtypes[0] not in HF_DTYPES:
        raise CheckpointError(f"the checkpoint's dtype is {dtypes[0]}; allowed: {', '.join(HF_DTYPES)}")
    seen: dict[str, str] = {}
    for name, model_name in mapping.items():
        if model_name is None:
            continue
        if model_name in seen:
            raise CheckpointError(
                f"the checkpoint holds {model_name!a} twice (as {seen[model_name]!a} and {name!a})"
            )
        seen[model_name] = name
    groups: dict[str, list[str]] = {name: [name] for name in layout.shapes if name not in layout.duplicates}
    for duplicate, canonical in layout.duplicates.items():
        groups[canonical].append(duplicate)
    missing = sorted(canonical for canonical, names in groups.items() if not seen.keys() & set(names))
    if missing:
        shown = ", ".join(ascii(name) for name in missing[:5])
        raise CheckpointError(f"the checkpoint lacks tensors the architecture needs: {shown}")
    for shard in shards:
        expected = {}
        for entry in shard.entries:
            model_name = mapping[entry.name]
            # A legacy buffer is never read: only its place in the file was checked.
            expected[entry.name] = (
                (entry.shape, entry.dtype) if model_name is None else (layout.shapes[model_name], dtypes[0])
            )
        validate_safetensors_header(shard.data, expected)
    return dtypes[0], mapping


def _load_weights(model: HFCausalLM, shards: list[_Shard], mapping: dict[str, str | None]) -> None:
    """Copy each approved tensor into the model, one at a time, releasing the file's pages after each.

    Tied names share one parameter: the first copy fills it, a second must be equal.
    """
    targets = model.hf.state_dict(keep_vars=True)  # the parameters and persistent buffers themselves
    written: dict[int, str] = {}
    with torch.no_grad():
        for shard in shards:
            start = 8 + header_length(shard.data)
            for entry in shard.entries:
                model_name = mapping[entry.name]
                if model_name is None:
                    continue
                source = _view(shard.data, start, entry)
                if not bool(torch.isfinite(source).all()):
                    raise CheckpointError(f"tensor {entry.name!a} contains NaN or infinite values")
                target = targets[model_name]
                if id(target) in written:
                    if not torch.equal(target, source):
                        raise CheckpointError(
                            f"tied tensors {written[id(target)]!a} and {entry.name!a} differ in the checkpoint"
                        )
                else:
                    target.copy_(source)
                    written[id(target)] = entry.name
                del source
                _release(shard.data, start + entry.begin, entry.end - entry.begin)
    unwritten = sorted(name for name, target in targets.items() if id(target) not in written)
    if unwritten:  # `_check_names` rules this out; kept so a gap can never pass silently
        raise CheckpointError(f"the checkpoint lacks tensors the architecture needs: {unwritten[0]!a}")


def _release(data: bytes | mmap.mmap, offset: int, length: int) -> None:
    """Drop a memory map's pages over a copied range, so the file is never resident beside the model.

    The map is private and never written, so a later read would fault the same bytes back in.
    """
    if not isinstance(data, mmap.mmap) or not hasattr(mmap, "MADV_DONTNEED") or length == 0:
        return
    begin = offset - offset % mmap.PAGESIZE
    data.madvise(mmap.MADV_DONTNEED, begin, offset + length - begin)


def _view(data: bytes | mmap.mmap, start: int, entry: TensorEntry) -> Tensor:
    """The tensor over the approved byte range: a view of the map when aligned, else a private copy."""
    dtype = HF_DTYPES[entry.dtype]
    count = (entry.end - entry.begin) // DTYPE_SIZES[entry.dtype]
    if count == 0:
        return torch.empty(entry.shape, dtype=dtype)
    offset = start + entry.begin
    if offset % DTYPE_SIZES[entry.dtype]:
        return torch.frombuffer(
            bytearray(data[offset : offset + entry.end - entry.begin]), dtype=dtype
        ).reshape(entry.shape)
    with warnings.catch_warnings():
        # A bytes checkpoint is read-only; the tensor only ever feeds `copy_` into the model.
        warnings.filterwarnings("ignore", message="The given buffer is not writable")
        return torch.frombuffer(data, dtype=dtype, count=count, offset=offset).reshape(entry.shape)


def _first_line(problem: BaseException) -> str:
    text = str(problem).strip().splitlines()
    return (text[0] if text else type(problem).__name__)[:200]


__all__ = [
    "HF_DTYPES",
    "HFCausalLM",
    "build_hf_causal_lm",
    "expected_hf_tensors",
    "load_hf_checkpoint",
    "tied_duplicates",
    "transformers_config",
]
