"""The `hf_causal_lm` family: a Hugging Face causal LM described by its own `config.json` (torch-free).

The spec is `{"family": "hf_causal_lm", "config": <config.json as a dict>}`. The platform checks
it at upload without torch or transformers, so everything here is plain arithmetic on the
JSON: the `model_type` is one transformers builds from its own code (`ALLOWED_MODEL_TYPES`),
nothing names remote code (`auto_map`, `trust_remote_code`), the sizes are positive integers
within bounds, and the exact parameter count (biases and tied embeddings included) is under
`MAX_PARAMETERS`, so a config asking for 10¹² parameters is refused before anything is
allocated anywhere. `HFArchitecture` is what the rest of the platform reads (vocabulary and
context for checking datasets against models; sizes for the memory estimate).

Defaults: a key the parameter count depends on may be absent from a config.json, and then
transformers uses its config class's default; `_DEFAULTS` repeats those defaults per model
type (a test compares them with transformers' own), so our count is transformers' count.
What transformers alone can judge (rope parameters, say) it judges when the worker builds
the model, and a refusal there is a `CheckpointError` too.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from analysis_workers.specs.errors import CheckpointError
from analysis_workers.specs.fields import MAX_DIMENSION, MAX_PARAMETERS

FAMILY = "hf_causal_lm"
ALLOWED_MODEL_TYPES = ("gpt2", "gpt_neox", "llama", "qwen2", "mistral")

# Activations without parameters of their own (a parametrised one, such as PReLU, would change the
# count), all in transformers' ACT2FN (a test checks it).
ALLOWED_ACTIVATIONS = (
    "gelu",
    "gelu_accurate",
    "gelu_fast",
    "gelu_new",
    "gelu_python",
    "gelu_pytorch_tanh",
    "mish",
    "quick_gelu",
    "relu",
    "relu2",
    "sigmoid",
    "silu",
    "swish",
    "tanh",
)

MAX_CONFIG_BYTES = 64 * 1024
MAX_CONFIG_DEPTH = 8
MAX_LAYERS = 1024
MAX_HEADS = 1024
MAX_VOCAB = 1 << 20
MAX_CONTEXT = 1 << 20
MAX_MLP = 1 << 20

# Keys that would make transformers fetch or run code, or quantise, none of which a worker does.
_REFUSED_KEYS = {
    "auto_map": "it names remote code, which is never run (allowlisted model types are built by transformers itself)",
    "trust_remote_code": "remote code is never trusted",
    "quantization_config": "quantised checkpoints are not supported",
}
# Switches that would add parameters these model types do not have as causal LMs.
_REFUSED_TRUE = ("add_cross_attention", "is_encoder_decoder")
# transformers reads these as the name of a torch attribute; only floating dtypes are names we accept.
_DTYPE_KEYS = ("dtype", "torch_dtype")
_DTYPE_NAMES = ("float32", "float16", "bfloat16", "float64")
_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
_ALLOWED_PRIVATE_KEYS = ("_name_or_path",)

# transformers' defaults for the keys the count reads, when a config.json leaves them out (the
# config classes' field defaults; a null num_key_value_heads or head_dim is filled in from the heads).
_DEFAULTS: dict[str, dict[str, object]] = {
    "gpt2": {"n_inner": None, "tie_word_embeddings": True, "activation_function": "gelu_new"},
    "gpt_neox": {"tie_word_embeddings": False, "attention_bias": True, "hidden_act": "gelu"},
    "llama": {
        "tie_word_embeddings": False,
        "attention_bias": False,
        "mlp_bias": False,
        "num_key_value_heads": None,
        "head_dim": None,
        "hidden_act": "silu",
    },
    "qwen2": {"tie_word_embeddings": False, "num_key_value_heads": 32, "hidden_act": "silu"},
    "mistral": {
        "tie_word_embeddings": False,
        "num_key_value_heads": 8,
        "head_dim": None,
        "hidden_act": "silu",
    },
}


@dataclass(frozen=True)
class HFArchitecture:
    """The sizes of an allowlisted Hugging Face causal LM, read from its config.json.

    `n_kv_heads` equals `n_heads` without grouped-query attention; `n_ctx` is the longest
    context the positional scheme is configured for (`n_positions` or `max_position_embeddings`);
    `parameter_count` counts each tied tensor once, as `model.parameters()` does.
    """

    model_type: str
    n_layers: int
    n_heads: int
    n_kv_heads: int
    d_model: int
    d_head: int
    d_mlp: int
    d_vocab: int
    n_ctx: int
    tied_embeddings: bool
    parameter_count: int


@dataclass(frozen=True)
class HFCausalLMConfig:
    """A validated `hf_causal_lm` config: its architecture and the config.json, kept verbatim.

    The config is held as its JSON text (immutable; the key order kept) so that the spec
    round-trips unchanged: `as_dict()` gives back exactly the dict that was validated.
    """

    architecture: HFArchitecture
    config_json: str

    def parameter_count(self) -> int:
        return self.architecture.parameter_count

    def as_dict(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.config_json)
        return loaded


def hf_architecture(config: Mapping[str, Any]) -> HFArchitecture:
    """The architecture a config.json describes; CheckpointError (one line) if it is refused.

    Refused: remote code (`auto_map`, `trust_remote_code`), a `model_type` outside
    `ALLOWED_MODEL_TYPES`, missing or out-of-bounds sizes, sizes that do not divide
    (heads into the width, key/value heads into heads), an activation with parameters,
    and more than `MAX_PARAMETERS` parameters (the message names the figure).
    """
    if not isinstance(config, Mapping):
        raise CheckpointError(f"{FAMILY}.config must be a JSON object (the checkpoint's config.json)")
    for key, why in _REFUSED_KEYS.items():
        if key in config:
            raise CheckpointError(f"{FAMILY}.config has {key}: {why}")
    model_type = config.get("model_type")
    if model_type not in ALLOWED_MODEL_TYPES:
        raise CheckpointError(
            f"{FAMILY}.config.model_type {_show(model_type)} is not allowed; allowed: {', '.join(ALLOWED_MODEL_TYPES)}"
        )
    for key in _REFUSED_TRUE:
        if config.get(key, False) is not False:
            raise CheckpointError(f"{FAMILY}.config.{key} must be false for a causal LM")
    for key in _DTYPE_KEYS:
        if config.get(key) not in (None, *_DTYPE_NAMES):
            raise CheckpointError(
                f"{FAMILY}.config.{key} must be one of {', '.join(_DTYPE_NAMES)} or absent, got {_show(config[key])}"
            )
    reader = _Reader(config, str(model_type))
    architecture = _READERS[str(model_type)](reader)
    if architecture.parameter_count > MAX_PARAMETERS:
        raise CheckpointError(
            f"{FAMILY} ({model_type}) would have {architecture.parameter_count:,} parameters; "
            f"the limit is {MAX_PARAMETERS:,}"
        )
    return architecture


def read_hf_config(raw: object) -> HFCausalLMConfig:
    """The `hf_causal_lm` family's parser: a JSON-only, bounded config.json and its architecture."""
    if not isinstance(raw, dict):
        raise CheckpointError(f"{FAMILY}.config must be a JSON object (the checkpoint's config.json)")
    _check_json(raw, f"{FAMILY}.config", 0)
    for key in raw:
        if not (_KEY.match(key) or key in _ALLOWED_PRIVATE_KEYS):
            raise CheckpointError(
                f"{FAMILY}.config key {_show(key)} is not a plain identifier (letters, digits, _; at most 64)"
            )
    try:
        text = json.dumps(raw, allow_nan=False, ensure_ascii=False)
    except (ValueError, RecursionError):
        raise CheckpointError(f"{FAMILY}.config must be plain JSON with finite numbers") from None
    if len(text.encode("utf-8")) > MAX_CONFIG_BYTES:
        raise CheckpointError(f"{FAMILY}.config is larger than {MAX_CONFIG_BYTES:,} bytes of JSON")
    return HFCausalLMConfig(hf_architecture(raw), text)


def write_hf_config(config: HFCausalLMConfig) -> dict[str, Any]:
    """The config.json dict, unchanged (the inverse of `read_hf_config`)."""
    return config.as_dict()


# --------------------------------------------------------------------------- reading


class _Reader:
    """Typed, bounded reads of one config.json's keys, with transformers' defaults for absent ones."""

    def __init__(self, config: Mapping[str, Any], model_type: str) -> None:
        self.config = config
        self.model_type = model_type
        self.defaults = _DEFAULTS[model_type]

    def size(self, key: str, high: int) -> int:
        """A required positive integer ≤ `high`."""
        if key not in self.config:
            raise CheckpointError(f"{FAMILY}.config.{key} is required for model_type {self.model_type}")
        return self._bounded(key, self.config[key], high)

    def optional_size(self, key: str, high: int) -> int | None:
        """An integer ≤ `high`, or None where the key is absent (and its default is None) or null."""
        value = self.config.get(key, self.defaults.get(key))
        return None if value is None else self._bounded(key, value, high)

    def flag(self, key: str) -> bool:
        value = self.config.get(key, self.defaults[key])
        if not isinstance(value, bool):
            raise CheckpointError(f"{FAMILY}.config.{key} must be true or false, got {_show(value)}")
        return value

    def activation(self, key: str) -> None:
        value = self.config.get(key, self.defaults[key])
        if value not in ALLOWED_ACTIVATIONS:
            raise CheckpointError(
                f"{FAMILY}.config.{key} {_show(value)} is not allowed; allowed: {', '.join(ALLOWED_ACTIVATIONS)}"
            )

    def kv_heads(self, heads: int) -> int:
        value = self.config.get("num_key_value_heads", self.defaults["num_key_value_heads"])
        if value is None:
            return heads
        kv = self._bounded("num_key_value_heads", value, heads)
        if heads % kv:
            raise CheckpointError(
                f"{FAMILY}.config.num_key_value_heads ({kv}) must divide num_attention_heads ({heads})"
            )
        return kv

    def _bounded(self, key: str, value: object, high: int) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= high:
            raise CheckpointError(
                f"{FAMILY}.config.{key} must be an integer from 1 to {high:,}, got {_show(value)}"
            )
        return value


def _divides(heads: int, d_model: int, heads_key: str, width_key: str) -> int:
    if d_model % heads:
        raise CheckpointError(f"{FAMILY}.config.{heads_key} ({heads}) must divide {width_key} ({d_model})")
    return d_model // heads


def _gpt2(r: _Reader) -> HFArchitecture:
    d, layers = r.size("n_embd", MAX_DIMENSION), r.size("n_layer", MAX_LAYERS)
    heads, vocab, ctx = (
        r.size("n_head", MAX_HEADS),
        r.size("vocab_size", MAX_VOCAB),
        r.size("n_positions", MAX_CONTEXT),
    )
    d_head = _divides(heads, d, "n_head", "n_embd")
    d_mlp = r.optional_size("n_inner", MAX_MLP) or 4 * d
    tied = r.flag("tie_word_embeddings")
    r.activation("activation_function")
    # ln_1, c_attn (d → 3d), c_proj (d → d), ln_2, c_fc (d → d_mlp), c_proj (d_mlp → d): all with biases.
    block = 2 * d + (3 * d * d + 3 * d) + (d * d + d) + 2 * d + (d * d_mlp + d_mlp) + (d_mlp * d + d)
    count = vocab * d + ctx * d + layers * block + 2 * d + (0 if tied else vocab * d)
    return HFArchitecture("gpt2", layers, heads, heads, d, d_head, d_mlp, vocab, ctx, tied, count)


def _gpt_neox(r: _Reader) -> HFArchitecture:
    d, layers = r.size("hidden_size", MAX_DIMENSION), r.size("num_hidden_layers", MAX_LAYERS)
    heads, d_mlp = r.size("num_attention_heads", MAX_HEADS), r.size("intermediate_size", MAX_MLP)
    vocab, ctx = r.size("vocab_size", MAX_VOCAB), r.size("max_position_embeddings", MAX_CONTEXT)
    d_head = _divides(heads, d, "num_attention_heads", "hidden_size")
    head_dim = r.optional_size("head_dim", MAX_DIMENSION)
    if head_dim is not None and head_dim != d_head:
        raise CheckpointError(
            f"{FAMILY}.config.head_dim must be hidden_size / num_attention_heads for gpt_neox"
        )
    tied, bias = r.flag("tie_word_embeddings"), r.flag("attention_bias")
    r.activation("hidden_act")
    # Two layer norms; query_key_value (d → 3d) and dense (d → d), biased if attention_bias; a biased MLP.
    attention = 3 * d * d + d * d + (4 * d if bias else 0)
    block = 4 * d + attention + (d * d_mlp + d_mlp) + (d_mlp * d + d)
    count = vocab * d + layers * block + 2 * d + (0 if tied else vocab * d)
    return HFArchitecture("gpt_neox", layers, heads, heads, d, d_head, d_mlp, vocab, ctx, tied, count)


def _llama_like(r: _Reader) -> HFArchitecture:
    d, layers = r.size("hidden_size", MAX_DIMENSION), r.size("num_hidden_layers", MAX_LAYERS)
    heads, d_mlp = r.size("num_attention_heads", MAX_HEADS), r.size("intermediate_size", MAX_MLP)
    vocab, ctx = r.size("vocab_size", MAX_VOCAB), r.size("max_position_embeddings", MAX_CONTEXT)
    kv = r.kv_heads(heads)
    if r.model_type == "qwen2" and "head_dim" in r.config and r.config["head_dim"] is None:
        raise CheckpointError(f"{FAMILY}.config.head_dim must not be null for qwen2 (leave it out instead)")
    head_dim = r.optional_size("head_dim", MAX_DIMENSION)
    # Without head_dim it is hidden_size / heads; llama's config refuses a width the heads do not
    # divide even where head_dim is explicit.
    d_head = head_dim or d // heads
    if head_dim is None or r.model_type == "llama":
        _divides(heads, d, "num_attention_heads", "hidden_size")
    tied = r.flag("tie_word_embeddings")
    r.activation("hidden_act")
    q, kv_width = heads * d_head, kv * d_head
    attention = d * q + 2 * d * kv_width + q * d
    mlp = 3 * d * d_mlp
    if r.model_type == "llama":
        attention += (q + 2 * kv_width + d) if r.flag("attention_bias") else 0
        mlp += (2 * d_mlp + d) if r.flag("mlp_bias") else 0
    elif r.model_type == "qwen2":
        attention += q + 2 * kv_width  # q, k and v have biases, o_proj has none
    block = attention + mlp + 2 * d  # two RMS norms (weights only)
    count = vocab * d + layers * block + d + (0 if tied else vocab * d)
    return HFArchitecture(r.model_type, layers, heads, kv, d, d_head, d_mlp, vocab, ctx, tied, count)


_READERS = {
    "gpt2": _gpt2,
    "gpt_neox": _gpt_neox,
    "llama": _llama_like,
    "qwen2": _llama_like,
    "mistral": _llama_like,
}


def _check_json(value: object, path: str, depth: int) -> None:
    """CheckpointError unless `value` is plain JSON (dict with str keys, list, str, finite number, bool, null)."""
    if depth > MAX_CONFIG_DEPTH:
        raise CheckpointError(f"{path} nests deeper than {MAX_CONFIG_DEPTH} levels")
    if value is None or isinstance(value, bool | int | str):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise CheckpointError(f"{path} must be a finite number")
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            _check_json(item, f"{path}[{index}]", depth + 1)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise CheckpointError(f"{path} has a key that is not a string")
            _check_json(item, f"{path}.{key[:40]}", depth + 1)
        return
    raise CheckpointError(f"{path} is not plain JSON (a {type(value).__name__})")


def _show(value: object) -> str:
    """An escaped, truncated rendering of an untrusted value for a one-line message."""
    text = ascii(value)
    return text[:60] + "…" if len(text) > 60 else text


__all__ = [
    "ALLOWED_ACTIVATIONS",
    "ALLOWED_MODEL_TYPES",
    "FAMILY",
    "HFArchitecture",
    "HFCausalLMConfig",
    "hf_architecture",
    "read_hf_config",
    "write_hf_config",
]
