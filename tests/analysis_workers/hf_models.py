"""Tiny random Hugging Face causal LMs of every supported model_type, built offline from configs."""

from __future__ import annotations

from typing import Any

import torch
from transformers import AutoConfig, AutoModelForCausalLM, PreTrainedModel

from analysis_workers.zoo.hf_hooked import HookedCausalLM, wrap_causal_lm

VOCAB = 23
N_CTX = 16
MODEL_TYPES = ("gpt2", "gpt_neox", "llama", "qwen2", "mistral")
GROUPED_TYPES = ("llama", "qwen2", "mistral")

_SHAPES: dict[str, dict[str, Any]] = {
    # GPT-2 names its fields n_embd/n_layer/…; its default token ids (50256) lie outside this vocabulary.
    "gpt2": {
        "vocab_size": VOCAB,
        "n_positions": N_CTX,
        "n_embd": 16,
        "n_layer": 2,
        "n_head": 4,
        "n_inner": 24,
        "bos_token_id": 0,
        "eos_token_id": 0,
    },
    "gpt_neox": {"intermediate_size": 24},
    "llama": {"intermediate_size": 24, "num_key_value_heads": 2},
    "qwen2": {"intermediate_size": 24, "num_key_value_heads": 2},
    "mistral": {"intermediate_size": 24, "num_key_value_heads": 2},
}
_COMMON = {
    "vocab_size": VOCAB,
    "max_position_embeddings": N_CTX,
    "hidden_size": 16,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
}


def tiny_hf_model(
    model_type: str, *, seed: int = 0, attn_implementation: str = "eager", **overrides: Any
) -> PreTrainedModel:
    """A float32 model in eval mode; weights ~ N(0, 0.3²) so that heads differ visibly."""
    fields = dict(_SHAPES[model_type]) if model_type == "gpt2" else {**_COMMON, **_SHAPES[model_type]}
    config = AutoConfig.for_model(model_type, initializer_range=0.3, **fields, **overrides)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = AutoModelForCausalLM.from_config(
            config, attn_implementation=attn_implementation, dtype=torch.float32
        )
    return model.eval()


def tiny_hooked(model_type: str, *, seed: int = 0, **overrides: Any) -> HookedCausalLM:
    return wrap_causal_lm(tiny_hf_model(model_type, seed=seed, **overrides))


def random_tokens(batch: int = 3, pos: int = 9, *, seed: int = 1) -> torch.Tensor:
    return torch.randint(0, VOCAB, (batch, pos), generator=torch.Generator().manual_seed(seed))
