"""Hugging Face causal LMs: tiny checkpoints written by transformers itself load through
`zoo.load_checkpoint` and give transformers' logits; hostile configs and folders are refused
before any weight is read; the parameter count and the memory estimate come from the config."""

from __future__ import annotations

import dataclasses
import json
import os
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import save_file
from transformers import AutoConfig, AutoModelForCausalLM
from transformers.activations import ACT2FN
from transformers.models.auto.configuration_auto import CONFIG_MAPPING

from analysis_workers import zoo
from analysis_workers.specs import hf as hf_spec
from analysis_workers.specs.fields import MAX_PARAMETERS
from analysis_workers.zoo import CheckpointError, HFArchitecture, HFCausalLM
from analysis_workers.zoo import hf_causal_lm as hf_zoo

SIZES: dict[str, dict[str, Any]] = {
    "gpt2": {"n_embd": 16, "n_layer": 2, "n_head": 2, "vocab_size": 50, "n_positions": 32},
    "gpt_neox": {
        "hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 24,
        "vocab_size": 50, "max_position_embeddings": 32,
    },
    "llama": {
        "hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
        "intermediate_size": 24, "vocab_size": 50, "max_position_embeddings": 32,
    },
    "qwen2": {
        "hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
        "intermediate_size": 24, "vocab_size": 50, "max_position_embeddings": 32,
    },
    "mistral": {
        "hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
        "intermediate_size": 24, "vocab_size": 50, "max_position_embeddings": 32,
    },
}  # fmt: skip
TOKENS = {"bos_token_id": 0, "eos_token_id": 0, "pad_token_id": 0}
INDEX = "model.safetensors.index.json"


def _transformers_model(model_type: str, dtype: torch.dtype = torch.float32, **overrides: Any) -> Any:
    torch.manual_seed(0)
    config = AutoConfig.for_model(model_type, **{**SIZES[model_type], **TOKENS, **overrides})
    return AutoModelForCausalLM.from_config(config, dtype=dtype, attn_implementation="eager").eval()


def _saved(
    folder: Path,
    model_type: str,
    *,
    shard: str | None = None,
    dtype: torch.dtype = torch.float32,
    **overrides: Any,
) -> tuple[dict[str, Any], Any]:
    """(spec, transformers model) for a checkpoint transformers itself saved into `folder`."""
    model = _transformers_model(model_type, dtype, **overrides)
    if shard is None:
        model.save_pretrained(folder, safe_serialization=True)
    else:
        model.save_pretrained(folder, safe_serialization=True, max_shard_size=shard)
    config = json.loads((folder / "config.json").read_text())
    return {"family": "hf_causal_lm", "config": config}, model


def _spec(of: str, **overrides: Any) -> dict[str, Any]:
    return {"family": "hf_causal_lm", "config": {"model_type": of, **SIZES[of], **overrides}}


def _load(spec: dict[str, Any], source: Any) -> Any:
    """The loaded `HFCausalLM` (typed Any: the tests reach into transformers' submodules)."""
    model = zoo.load_checkpoint(spec, source)
    assert isinstance(model, HFCausalLM)
    return model


def _built(spec: dict[str, Any], seed: int) -> dict[str, torch.Tensor]:
    model = zoo.build(spec, generator=torch.Generator().manual_seed(seed))
    assert isinstance(model, HFCausalLM)
    return model.hf.state_dict()


@pytest.fixture
def no_weights_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if the loader gets as far as reading weights."""

    def refuse(*args: object) -> None:
        raise AssertionError("weights were read before the checkpoint was refused")

    monkeypatch.setattr(hf_zoo, "_load_weights", refuse)


# ------------------------------------------------------------------------ loading


@pytest.mark.parametrize("model_type", hf_spec.ALLOWED_MODEL_TYPES)
@pytest.mark.parametrize("shard", [None, "8KB"], ids=["one_file", "sharded"])
def test_checkpoint_saved_by_transformers_loads_with_its_logits(
    tmp_path: Path, model_type: str, shard: str | None
) -> None:
    spec, reference = _saved(tmp_path, model_type, shard=shard)
    shards = sorted(tmp_path.glob("*.safetensors"))
    assert (len(shards) > 1) == (shard is not None) and (tmp_path / INDEX).exists() == (shard is not None)
    model = _load(spec, tmp_path)
    assert not model.hf.training
    tokens = torch.randint(0, 50, (3, 12), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        logits, expected = model(tokens), reference(input_ids=tokens).logits
    assert logits.shape == (3, 12, 50)
    assert torch.allclose(logits, expected, atol=1e-5, rtol=0)
    assert model.hf.state_dict().keys() == reference.state_dict().keys()


def test_weights_are_copied_out_of_the_memory_mapped_files(tmp_path: Path) -> None:
    """Overwriting the shards in place after loading changes nothing: the model holds its own copy."""
    spec, reference = _saved(tmp_path, "mistral", shard="8KB")
    model = _load(spec, tmp_path)
    for shard in tmp_path.glob("model-*.safetensors"):
        with open(shard, "r+b") as handle:
            handle.write(b"\0" * shard.stat().st_size)
    for name, tensor in reference.state_dict().items():
        assert torch.equal(model.hf.state_dict()[name], tensor), name


def test_folder_may_be_given_as_a_string_and_single_file_as_bytes(tmp_path: Path) -> None:
    spec, reference = _saved(tmp_path, "llama")
    from_folder = _load(spec, str(tmp_path))
    from_bytes = _load(spec, (tmp_path / "model.safetensors").read_bytes())
    for name, tensor in reference.state_dict().items():
        assert torch.equal(from_folder.hf.state_dict()[name], tensor), name
        assert torch.equal(from_bytes.hf.state_dict()[name], tensor), name


def test_bf16_checkpoint_is_loaded_as_bf16(tmp_path: Path) -> None:
    spec, reference = _saved(tmp_path, "gpt2", shard="4KB", dtype=torch.bfloat16)
    model = _load(spec, tmp_path)
    assert {p.dtype for p in model.parameters()} == {torch.bfloat16}
    for name, tensor in reference.state_dict().items():
        assert torch.equal(model.hf.state_dict()[name], tensor), name
    tokens = torch.randint(0, 50, (2, 8), generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        assert torch.equal(model(tokens), reference(input_ids=tokens).logits)


def test_tied_duplicate_is_accepted_when_equal_and_refused_when_different(tmp_path: Path) -> None:
    spec, reference = _saved(tmp_path, "gpt2")
    state = {name: t.clone() for name, t in reference.state_dict().items()}  # lm_head.weight included
    save_file(state, tmp_path / "model.safetensors")
    model = _load(spec, tmp_path)
    assert model.hf.lm_head.weight is model.hf.transformer.wte.weight
    assert torch.equal(model.hf.lm_head.weight, reference.lm_head.weight)
    state["lm_head.weight"] = state["lm_head.weight"] + 1
    save_file(state, tmp_path / "model.safetensors")
    with pytest.raises(CheckpointError, match="tied tensors"):
        zoo.load_checkpoint(spec, tmp_path)


def test_tied_weights_may_be_stored_under_either_name(tmp_path: Path) -> None:
    spec, reference = _saved(tmp_path, "gpt2")
    state = {
        name: t.clone() for name, t in reference.state_dict().items() if name != "transformer.wte.weight"
    }
    save_file(state, tmp_path / "model.safetensors")
    model = _load(spec, tmp_path)
    assert torch.equal(model.hf.transformer.wte.weight, reference.transformer.wte.weight)


def test_older_gpt2_layout_without_prefix_and_with_mask_buffers_loads(tmp_path: Path) -> None:
    """Older gpt2 files name the base model's tensors without `transformer.` and carry the causal mask."""
    spec, reference = _saved(tmp_path, "gpt2")
    state = {
        name.removeprefix("transformer."): t.clone()
        for name, t in reference.state_dict().items()
        if name != "lm_head.weight"
    }
    for layer in range(2):
        state[f"h.{layer}.attn.bias"] = torch.tril(torch.ones(32, 32)).view(1, 1, 32, 32)
    save_file(state, tmp_path / "model.safetensors")
    model = _load(spec, tmp_path)
    tokens = torch.randint(0, 50, (2, 9), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        assert torch.allclose(model(tokens), reference(input_ids=tokens).logits, atol=1e-5, rtol=0)


def test_gpt_neox_head_is_read_under_its_checkpoint_name_embed_out(tmp_path: Path) -> None:
    spec, reference = _saved(tmp_path, "gpt_neox")
    assert "embed_out.weight" in _header_names(tmp_path / "model.safetensors")
    model = _load(spec, tmp_path)
    assert torch.equal(model.hf.lm_head.weight, reference.lm_head.weight)


def _header_names(path: Path) -> set[str]:
    data = path.read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    return set(json.loads(data[8 : 8 + length])) - {"__metadata__"}


def test_expected_tensors_are_the_hf_names_without_tied_duplicates() -> None:
    expected = zoo.expected_tensors(zoo.example_spec("hf_causal_lm"))
    assert "transformer.wte.weight" in expected and "lm_head.weight" not in expected
    assert expected["transformer.h.0.attn.c_attn.weight"] == ((32, 96), "F32")


def test_build_is_deterministic_in_its_generator_and_leaves_global_rng_alone() -> None:
    spec = _spec("llama")
    before = torch.random.get_rng_state()
    a = _built(spec, 5)
    b = _built(spec, 5)
    c = _built(spec, 6)
    assert torch.equal(torch.random.get_rng_state(), before)
    assert all(torch.equal(a[name], b[name]) for name in a)
    assert not torch.equal(a["model.embed_tokens.weight"], c["model.embed_tokens.weight"])


# --------------------------------------------------------------- refused specs


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"auto_map": {"AutoModelForCausalLM": "evil.Model"}}, "auto_map"),
        ({"trust_remote_code": True}, "trust_remote_code"),
        ({"quantization_config": {"quant_method": "bitsandbytes"}}, "quantised"),
        ({"model_type": "bert"}, "model_type 'bert' is not allowed"),
        ({"activation_function": "prelu"}, "activation_function 'prelu' is not allowed"),
        ({"add_cross_attention": True}, "add_cross_attention"),
        ({"n_head": 3}, r"n_head \(3\) must divide n_embd \(16\)"),
        ({"n_layer": 0}, "n_layer must be an integer from 1"),
        ({"n_embd": True}, "n_embd must be an integer"),
        ({"dtype": "load"}, "dtype must be one of"),
        ({"_attn_implementation": "flash"}, "not a plain identifier"),
        ({"layer_norm_epsilon": float("nan")}, "finite"),
    ],
)
def test_hostile_or_unsupported_config_is_refused(extra: dict[str, Any], message: str) -> None:
    with pytest.raises(CheckpointError, match=message):
        zoo.validate_spec(_spec("gpt2", **extra))


def test_missing_size_is_refused() -> None:
    spec = _spec("llama")
    del spec["config"]["intermediate_size"]
    with pytest.raises(CheckpointError, match="intermediate_size is required"):
        zoo.validate_spec(spec)


def test_key_value_heads_must_divide_heads() -> None:
    with pytest.raises(CheckpointError, match="num_key_value_heads"):
        zoo.validate_spec(_spec("mistral", num_key_value_heads=3))


def test_config_method_names_are_refused_when_building() -> None:
    spec = zoo.validate_spec(_spec("gpt2", to_dict=1))  # torch-free checks cannot know the class
    with pytest.raises(CheckpointError, match="would replace a method"):
        zoo.build(spec)


def test_trillion_parameter_config_is_refused_with_its_figure(tmp_path: Path, no_weights_read: None) -> None:
    sizes = {
        "hidden_size": 32768, "intermediate_size": 131072, "num_hidden_layers": 60,
        "num_attention_heads": 256, "num_key_value_heads": 256, "vocab_size": 32000,
        "max_position_embeddings": 4096,
    }  # fmt: skip
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(AutoConfig.for_model("llama", **sizes))
    figure = sum(p.numel() for p in model.parameters())
    assert figure > 10**12
    spec = {"family": "hf_causal_lm", "config": {"model_type": "llama", **sizes}}
    with pytest.raises(
        CheckpointError, match=f"would have {figure:,} parameters; the limit is {MAX_PARAMETERS:,}"
    ):
        zoo.validate_spec(spec)
    with pytest.raises(CheckpointError, match=f"{figure:,} parameters"):
        zoo.load_checkpoint(spec, tmp_path)


# ------------------------------------------------------------ refused folders


def test_config_json_differing_from_the_spec_is_refused(tmp_path: Path, no_weights_read: None) -> None:
    spec, _ = _saved(tmp_path, "gpt2")
    on_disk = json.loads((tmp_path / "config.json").read_text())
    on_disk["n_inner"] = 32
    (tmp_path / "config.json").write_text(json.dumps(on_disk))
    with pytest.raises(CheckpointError, match=r"config.json in the checkpoint folder differs .*'n_inner'"):
        zoo.load_checkpoint(spec, tmp_path)


def test_shard_named_by_the_index_but_absent_is_refused(tmp_path: Path, no_weights_read: None) -> None:
    spec, _ = _saved(tmp_path, "llama", shard="8KB")
    victim = sorted(tmp_path.glob("model-*.safetensors"))[-1]
    victim.unlink()
    with pytest.raises(
        CheckpointError, match=f"names the shard {victim.name}, which is not in the checkpoint folder"
    ):
        zoo.load_checkpoint(spec, tmp_path)


def test_tensor_missing_from_the_index_is_refused(tmp_path: Path, no_weights_read: None) -> None:
    spec, _ = _saved(tmp_path, "llama", shard="8KB")
    index = json.loads((tmp_path / INDEX).read_text())
    del index["weight_map"]["model.norm.weight"]
    (tmp_path / INDEX).write_text(json.dumps(index))
    with pytest.raises(
        CheckpointError, match=r"'model.norm.weight' in .* is missing from model.safetensors.index.json"
    ):
        zoo.load_checkpoint(spec, tmp_path)


def test_index_naming_a_tensor_twice_is_refused(tmp_path: Path, no_weights_read: None) -> None:
    spec, _ = _saved(tmp_path, "llama", shard="8KB")
    index = json.loads((tmp_path / INDEX).read_text())
    first = sorted(tmp_path.glob("model-*.safetensors"))[0].name
    text = json.dumps(index)
    twice = text.replace('"weight_map": {', f'"weight_map": {{"model.norm.weight": "{first}", ', 1)
    (tmp_path / INDEX).write_text(twice)
    with pytest.raises(CheckpointError, match=r"'model.norm.weight' appears twice"):
        zoo.load_checkpoint(spec, tmp_path)


def test_tensor_stored_in_two_shards_is_refused(tmp_path: Path, no_weights_read: None) -> None:
    spec, reference = _saved(tmp_path, "llama", shard="8KB")
    index = json.loads((tmp_path / INDEX).read_text())
    weight_map = index["weight_map"]
    holder = weight_map["model.norm.weight"]
    other = next(shard for shard in sorted(set(weight_map.values())) if shard != holder)
    names = [name for name, shard in weight_map.items() if shard == other]
    state = reference.state_dict()
    save_file({**{n: state[n].clone() for n in names}, "model.norm.weight": state["model.norm.weight"].clone()},
              tmp_path / other)  # fmt: skip
    with pytest.raises(CheckpointError, match=r"'model.norm.weight' is stored in both"):
        zoo.load_checkpoint(spec, tmp_path)


def test_index_pointing_a_tensor_at_the_wrong_shard_is_refused(tmp_path: Path, no_weights_read: None) -> None:
    spec, _ = _saved(tmp_path, "gpt2", shard="8KB")
    index = json.loads((tmp_path / INDEX).read_text())
    shards = sorted(set(index["weight_map"].values()))
    name = next(n for n, s in index["weight_map"].items() if s == shards[0])
    index["weight_map"][name] = shards[1]
    (tmp_path / INDEX).write_text(json.dumps(index))
    with pytest.raises(CheckpointError, match=f"is in {shards[0]} but {INDEX} puts it in {shards[1]}"):
        zoo.load_checkpoint(spec, tmp_path)


@pytest.mark.parametrize("shard", ["../model.safetensors", "sub/model.safetensors", "/etc/passwd"])
def test_shard_outside_the_folder_is_refused(tmp_path: Path, shard: str, no_weights_read: None) -> None:
    spec, _ = _saved(tmp_path, "gpt2", shard="8KB")
    index = json.loads((tmp_path / INDEX).read_text())
    index["weight_map"]["transformer.ln_f.bias"] = shard
    (tmp_path / INDEX).write_text(json.dumps(index))
    with pytest.raises(CheckpointError, match="not a plain"):
        zoo.load_checkpoint(spec, tmp_path)


def test_shard_that_is_a_symbolic_link_is_refused(tmp_path: Path, no_weights_read: None) -> None:
    folder = tmp_path / "checkpoint"
    spec, _ = _saved(folder, "gpt2")
    (folder / "model.safetensors").rename(tmp_path / "elsewhere.safetensors")
    (folder / "model.safetensors").symlink_to(tmp_path / "elsewhere.safetensors")
    with pytest.raises(CheckpointError, match="symbolic link"):
        zoo.load_checkpoint(spec, folder)


def test_tensor_shape_disagreeing_with_the_config_is_refused(tmp_path: Path, no_weights_read: None) -> None:
    spec, _ = _saved(tmp_path / "a", "gpt2")
    _saved(tmp_path / "b", "gpt2", n_positions=31)
    (tmp_path / "b" / "config.json").write_text(json.dumps(spec["config"]))
    with pytest.raises(
        CheckpointError,
        match=r"'transformer.wpe.weight' has shape \[31, 16\]; the architecture needs \[32, 16\]",
    ):
        zoo.load_checkpoint(spec, tmp_path / "b")


def test_header_bomb_is_refused_without_allocating(tmp_path: Path, no_weights_read: None) -> None:
    spec, _ = _saved(tmp_path, "gpt2")
    path = tmp_path / "model.safetensors"
    data = bytearray(path.read_bytes())
    data[:8] = struct.pack("<Q", 2**62)
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="header too large"):
        zoo.load_checkpoint(spec, tmp_path)


def test_single_file_and_index_together_are_refused(tmp_path: Path, no_weights_read: None) -> None:
    spec, reference = _saved(tmp_path, "gpt2", shard="8KB")
    reference.save_pretrained(tmp_path / "one", safe_serialization=True)
    (tmp_path / "one" / "model.safetensors").rename(tmp_path / "model.safetensors")
    with pytest.raises(CheckpointError, match=r"both model.safetensors and"):
        zoo.load_checkpoint(spec, tmp_path)


def test_non_finite_weights_are_refused(tmp_path: Path) -> None:
    model = _transformers_model("qwen2")
    with torch.no_grad():
        model.model.norm.weight[3] = float("inf")
    model.save_pretrained(tmp_path, safe_serialization=True)
    spec = {"family": "hf_causal_lm", "config": json.loads((tmp_path / "config.json").read_text())}
    with pytest.raises(CheckpointError, match=r"'model.norm.weight' contains NaN or infinite values"):
        zoo.load_checkpoint(spec, tmp_path)


def test_mixed_dtypes_are_refused(tmp_path: Path, no_weights_read: None) -> None:
    spec, reference = _saved(tmp_path, "gpt2")
    state = {name: t.clone() for name, t in reference.state_dict().items() if name != "lm_head.weight"}
    state["transformer.ln_f.bias"] = state["transformer.ln_f.bias"].half()
    save_file(state, tmp_path / "model.safetensors")
    with pytest.raises(CheckpointError, match="share one dtype; found F16, F32"):
        zoo.load_checkpoint(spec, tmp_path)


def test_folder_is_refused_for_other_families(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="checkpoint folder is for the hf_causal_lm family"):
        zoo.load_checkpoint(zoo.example_spec("mlp"), tmp_path)


# ------------------------------------------------------------ parameter count


VARIANTS: list[tuple[str, dict[str, Any]]] = [
    ("gpt2", {}),
    ("gpt2", {"tie_word_embeddings": False, "n_inner": 40}),
    ("gpt_neox", {}),
    ("gpt_neox", {"tie_word_embeddings": True, "attention_bias": False}),
    ("llama", {}),
    ("llama", {"tie_word_embeddings": True, "attention_bias": True, "mlp_bias": True, "head_dim": 8}),
    ("llama", {"num_key_value_heads": None}),
    ("qwen2", {}),
    ("qwen2", {"tie_word_embeddings": True, "head_dim": 6}),
    ("mistral", {"head_dim": 6}),
    ("mistral", {"tie_word_embeddings": True, "num_key_value_heads": 1}),
]


@pytest.mark.parametrize(("model_type", "overrides"), VARIANTS)
def test_parameter_count_equals_transformers_numel(model_type: str, overrides: dict[str, Any]) -> None:
    sizes = {**SIZES[model_type], **overrides}
    architecture = zoo.hf_architecture({"model_type": model_type, **sizes})
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(AutoConfig.for_model(model_type, **sizes))
    assert architecture.parameter_count == sum(p.numel() for p in model.parameters())
    assert architecture.tied_embeddings == bool(model.config.tie_word_embeddings)
    assert architecture.d_vocab == model.get_output_embeddings().weight.shape[0]


@pytest.mark.parametrize(("model_type", "kv_heads"), [("qwen2", 32), ("mistral", 8), ("llama", 16)])
def test_absent_key_value_heads_take_transformers_default(model_type: str, kv_heads: int) -> None:
    sizes = {
        **SIZES[model_type],
        "hidden_size": 64,
        "num_attention_heads": 32 if model_type == "qwen2" else 16,
    }
    del sizes["num_key_value_heads"]
    architecture = zoo.hf_architecture({"model_type": model_type, **sizes})
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(AutoConfig.for_model(model_type, **sizes))
    assert architecture.n_kv_heads == kv_heads == model.config.num_key_value_heads
    assert architecture.parameter_count == sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("model_type", hf_spec.ALLOWED_MODEL_TYPES)
def test_our_defaults_are_the_transformers_config_defaults(model_type: str) -> None:
    fields = {field.name: field.default for field in dataclasses.fields(CONFIG_MAPPING[model_type])}
    for key, default in hf_spec._DEFAULTS[model_type].items():
        assert fields[key] == default, key


def test_allowed_activations_exist_in_transformers_and_have_no_parameters() -> None:
    for name in hf_spec.ALLOWED_ACTIVATIONS:
        assert list(ACT2FN[name].parameters()) == [], name


def test_architecture_reports_the_sizes_datasets_are_checked_against() -> None:
    architecture = zoo.hf_architecture({"model_type": "mistral", **SIZES["mistral"], "head_dim": 6})
    assert architecture == HFArchitecture(
        model_type="mistral", n_layers=2, n_heads=4, n_kv_heads=2, d_model=16, d_head=6, d_mlp=24,
        d_vocab=50, n_ctx=32, tied_embeddings=False, parameter_count=architecture.parameter_count,
    )  # fmt: skip


def test_spec_round_trips_the_config_json_unchanged(tmp_path: Path) -> None:
    spec, _ = _saved(tmp_path, "qwen2")
    assert zoo.validate_spec(spec).as_json() == spec
    assert list(zoo.validate_spec(spec).as_json()["config"]) == list(spec["config"])


# ---------------------------------------------------------------- memory


def test_memory_estimate_follows_the_documented_formula() -> None:
    arch = zoo.hf_architecture(_spec("gpt2")["config"])
    chains, batch, seq, b = 2, 3, 4, 4
    p, layers, d, heads, vocab = arch.parameter_count, 2, 16, 2, 50
    tokens = chains * batch * seq
    by_hand = (
        p
        + chains * 6 * p
        + tokens * (16 * layers * d + 2 * vocab)
        + 3 * layers * chains * batch * heads * seq**2
    ) * b
    assert (
        zoo.estimate_job_memory(arch, dtype_bytes=b, num_chains=chains, batch_size=batch, seq_len=seq)
        == by_hand
    )
    assert (
        zoo.estimate_job_memory(
            _spec("gpt2"), dtype_bytes=b, num_chains=chains, batch_size=batch, seq_len=seq
        )
        == by_hand
    )


@pytest.mark.parametrize("family", ["mlp", "deep_linear", "transformer", "hf_causal_lm"])
def test_memory_estimate_grows_with_chains_for_every_family(family: str) -> None:
    spec = zoo.example_spec(family)
    one = zoo.estimate_job_memory(spec, dtype_bytes=4, num_chains=1, batch_size=8, seq_len=1)
    four = zoo.estimate_job_memory(spec, dtype_bytes=4, num_chains=4, batch_size=8, seq_len=1)
    weights = zoo.validate_spec(spec).config.parameter_count() * 4
    assert weights < one < four


def test_job_over_the_budget_is_refused_with_both_figures() -> None:
    arch = zoo.hf_architecture(_spec("llama", vocab_size=32000, max_position_embeddings=2048)["config"])
    with pytest.raises(
        CheckpointError, match=r"^this job needs ~\d+\.\d GiB; the worker's budget is 1\.0 GiB"
    ):
        zoo.check_memory_budget(
            arch, dtype_bytes=4, num_chains=8, batch_size=64, seq_len=2048, budget_bytes=2**30
        )
    fits = zoo.check_memory_budget(
        arch, dtype_bytes=4, num_chains=1, batch_size=1, seq_len=16, budget_bytes=2**30
    )
    assert 0 < fits < 2**30


def test_worker_budget_comes_from_the_environment_or_physical_memory() -> None:
    from analysis_workers.specs.memory import physical_memory_bytes

    assert zoo.worker_memory_budget_bytes({"WORKER_MEMORY_BUDGET_MB": "512"}) == 512 * 2**20
    assert zoo.worker_memory_budget_bytes({}) == int(physical_memory_bytes() * 0.8)
    assert physical_memory_bytes() > 2**27
    with pytest.raises(ValueError, match="WORKER_MEMORY_BUDGET_MB"):
        zoo.worker_memory_budget_bytes({"WORKER_MEMORY_BUDGET_MB": "lots"})


# ---------------------------------------------------------------- torch-free


def test_specs_validate_an_hf_spec_without_importing_torch_or_transformers() -> None:
    code = (
        "import sys\n"
        "from analysis_workers import specs\n"
        "spec = specs.validate_spec(specs.example_spec('hf_causal_lm'))\n"
        "specs.check_memory_budget(spec, dtype_bytes=4, num_chains=1, batch_size=1, seq_len=8, budget_bytes=2**30)\n"
        "heavy = [m for m in ('torch', 'numpy', 'safetensors', 'transformers') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
