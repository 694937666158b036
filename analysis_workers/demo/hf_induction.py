"""A Hugging Face GPT-2 that grows an induction head in about a minute on one CPU core.

    python -m analysis_workers.demo.hf_induction --out DIR [--steps 2400] [--every 200] [--seed 0] [--threads 1]

The demo's Hugging Face model: a `transformers.GPT2LMHeadModel` built from a `GPT2Config` in
code (never downloaded; 2 layers, 4 heads, d_model 64, 33 token ids, context 32), trained with
the plain next-token loss on a synthetic token language with planted induction structure.

The language (`demo.induction.repeated_sequences`): each sequence of n_ctx tokens starts with a
random-length prefix, then repeats a block of `period` distinct random tokens (period drawn per
sequence from [min_period, max_period]) to the end. From one period into the block on, the next
token can be predicted only by finding the previous occurrence of the current token and copying
the token after it: what an induction head does. The prefix follows a fixed rule,
x_{t+1} = ρ(x_{t−1}) for a permutation ρ of the tokens drawn from the seed, so that predicting it
needs the previous token.

Why the rule: on the block language alone (uniform prefix) this GPT-2 learns to predict the
repeats (in-context accuracy 0.96 to 0.995) without a head that attention scores find as an
induction head (best score 0.09 to 0.16): its layer-0 heads look two or three tokens back,
not one, and a layer-1 head attends a few tokens past the earlier copy and reads the answer
from there. Models trained on text have bigrams to learn first, hence a previous-token head;
the rule gives this one that reason, and it then grows the textbook induction head (the
measured figures are in docs/demo-hf-model.md). With the block always at position 0 (the
built-in `induction_sequences`) it learns a positional shortcut instead.

Token ids 0 … n_tokens − 1 are the language's tokens, written "t0" … "t{n_tokens−1}" by the
`tokenizer.json`; id n_tokens is `<|endoftext|>`, the config's bos and eos token, which the
language never uses (GPT-2 likewise keeps one id for it).

The output folder holds
- `step-NNNNN/`: one `save_pretrained` folder per saved step (config.json, model.safetensors,
  generation_config.json: transformers 5 writes safetensors only) with a copy of `tokenizer.json`;
- `dataset.safetensors`: `input_ids` [n_held_out, n_ctx] int64, held-out sequences of the
  language (never trained on), for the analyses of the uploaded model;
- `tokenizer.json`, `history.json` (per evaluated step: losses, in-context accuracy, the
  induction scores below) and, written last, `done.json`, so that a rerun with the same
  arguments reuses the folder.

Induction score. For prompts x_0 … x_{T−1} and a head with attention A (A[i, j] for j ≤ i, rows
summing to 1), let D[i, j] = [1 ≤ j ≤ i and x_{j−1} = x_i] (the platform's induction detection
pattern, `interp.attention.detection_patterns`: j is the position right after an earlier copy of
x_i) and let Q be the query rows with at least one such j. The score of a head is

    score = mean over prompts and i ∈ Q of Σ_j A[i, j] D[i, j],

the share of its attention that queries able to use induction put on the induction target. It
is measured on the held-out sequences (`induction_score`) and on the standard prompt of
L = n_ctx // 2 distinct random tokens repeated twice, where Q is the second half and
D[i, j] = [j = i − L + 1] (`repeat_score`). A head attending by position alone can score on the
second (its target sits at fixed positions), not on the first. The platform's attention summary
divides by the attention of every row, in Q or not; that share on the held-out sequences is
recorded too (`platform_induction_score`), so what the platform reports can be compared with
what was measured here.
"""

from __future__ import annotations

import os

# Set before transformers is first imported: nothing in this module may reach the hub.
os.environ["HF_HUB_OFFLINE"] = "1"
# save_pretrained's per-shard progress bar would interleave with the demo's own output
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

import argparse
import json
import math
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from tokenizers import Tokenizer, models, pre_tokenizers
from torch import Tensor
from transformers import GPT2Config, GPT2LMHeadModel

from analysis_workers.demo.induction import induction_loss, repeated_sequences
from analysis_workers.demo.runtime import set_worker_threads
from analysis_workers.interp.attention import detection_patterns, head_scores
from analysis_workers.interp.report import head_label

END_OF_TEXT = "<|endoftext|>"
HISTORY_KEYS = (
    "step",
    "train_loss",
    "test_loss",
    "induction_loss",
    "induction_accuracy",
    "induction_score",
    "induction_head",
    "repeat_score",
    "repeat_head",
    "platform_induction_score",
    "platform_induction_head",
)


@dataclass(frozen=True)
class HFInductionConfig:
    n_tokens: int = 32
    n_ctx: int = 32
    min_period: int = 4
    max_period: int = 12
    d_model: int = 64
    n_heads: int = 4
    n_layers: int = 2
    d_mlp: int = 32
    steps: int = 2400
    batch_size: int = 64
    lr: float = 5e-3
    warmup_steps: int = 50
    weight_decay: float = 0.01
    eval_every: int = 100
    checkpoint_every: int = 200
    n_held_out: int = 256
    n_score_prompts: int = 64
    seed: int = 0

    def __post_init__(self) -> None:
        if not 2 <= self.min_period <= self.max_period:
            raise ValueError("periods must satisfy 2 ≤ min_period ≤ max_period")
        if self.n_ctx < 2 * self.max_period:
            raise ValueError("n_ctx must hold at least two repeats of the longest period")
        if self.n_tokens < max(self.max_period, self.n_ctx // 2):
            raise ValueError("n_tokens must be at least max_period and n_ctx // 2 (blocks are distinct)")
        positive = (
            "d_model",
            "n_heads",
            "n_layers",
            "d_mlp",
            "steps",
            "batch_size",
            "eval_every",
            "checkpoint_every",
            "n_held_out",
            "n_score_prompts",
        )
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.d_model % self.n_heads:
            raise ValueError("d_model must be a multiple of n_heads")
        if self.n_score_prompts > self.n_held_out:
            raise ValueError("n_score_prompts must not exceed n_held_out (scores use held-out sequences)")
        if self.lr <= 0 or self.weight_decay < 0 or self.warmup_steps < 0:
            raise ValueError("lr must be positive, weight_decay and warmup_steps non-negative")

    def gpt2_config(self) -> GPT2Config:
        """No dropout, so the saved model gives exactly the logits it gave in training; eager
        attention, so `output_attentions=True` returns the patterns."""
        return GPT2Config(
            vocab_size=self.n_tokens + 1,
            n_positions=self.n_ctx,
            n_embd=self.d_model,
            n_layer=self.n_layers,
            n_head=self.n_heads,
            n_inner=self.d_mlp,
            resid_pdrop=0.0,
            embd_pdrop=0.0,
            attn_pdrop=0.0,
            bos_token_id=self.n_tokens,
            eos_token_id=self.n_tokens,
            # PretrainedConfig takes it through **kwargs; the GPT2Config stub does not list it.
            attn_implementation="eager",  # type: ignore[call-arg]
        )


@dataclass
class HFInductionRun:
    config: HFInductionConfig
    model: GPT2LMHeadModel
    prefix_rule: Tensor  # [n_tokens]: ρ, the prefix's x_{t+1} = ρ(x_{t−1})
    held_out: Tensor  # [n_held_out, n_ctx] int64
    checkpoints: list[tuple[int, dict[str, Tensor]]]
    history: dict[str, list[float | int | str]] = field(default_factory=dict)


def new_model(config: HFInductionConfig, *, generator: torch.Generator) -> GPT2LMHeadModel:
    """A GPT-2 initialised from `generator` with GPT-2's own scheme: weights N(0, 0.02²), the
    residual output projections (c_proj) N(0, (0.02 / √(2 · n_layers))²), biases 0, layer-norm
    gains 1. Constructing the model draws from torch's global generator; that draw runs inside
    `fork_rng`, so the caller's global random state is left as it was."""
    with torch.random.fork_rng(devices=[]):
        model = GPT2LMHeadModel(config.gpt2_config())
    std = model.config.initializer_range
    with torch.no_grad():
        for name, parameter in model.named_parameters():  # the tied lm_head is listed once, as wte
            if name.endswith(".bias"):
                parameter.zero_()
            elif ".ln_" in name:
                parameter.fill_(1.0)
            else:
                scale = std / math.sqrt(2 * config.n_layers) if name.endswith("c_proj.weight") else std
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * scale)
    return model


def next_token_loss(logits: Tensor, tokens: Tensor) -> Tensor:
    """Mean cross-entropy of every next token (GPT-2's language-model loss)."""
    return F.cross_entropy(
        logits[:, :-1].reshape(-1, logits.shape[-1]),  # [batch·(pos−1), vocab]
        tokens[:, 1:].reshape(-1),  # [batch·(pos−1)]
    )


def attention_patterns(model: GPT2LMHeadModel, tokens: Tensor) -> Tensor:
    """Every head's pattern, stacked: [layer, batch, head, query_pos, key_pos] (eager attention)."""
    with torch.inference_mode():
        attentions = model(tokens, output_attentions=True).attentions
    return torch.stack(attentions)


def targeted_scores(patterns: Tensor, detection: Tensor) -> Tensor:
    """Mean over prompts and the query rows that have a target of the attention on the
    targets: [layer, head]. patterns [layer, batch, head, q, k]; detection [batch, q, k] (0/1)."""
    on_target = (patterns * detection[None, :, None]).sum(dim=-1)  # [layer, batch, head, q]
    rows = (detection.sum(dim=-1) > 0).to(patterns.dtype)  # [batch, q]
    return (on_target * rows[None, :, None]).sum(dim=(1, 3)) / rows.sum()  # [layer, head]


def repeated_prompts(n: int, *, n_tokens: int, length: int, generator: torch.Generator) -> Tensor:
    """[n, 2 · length]: `length` distinct random tokens, then the same tokens again."""
    block = torch.rand(n, n_tokens, generator=generator).argsort(dim=1)[:, :length]  # [n, length]
    return torch.cat([block, block], dim=1)


def repeat_targets(n: int, length: int) -> Tensor:
    """D [n, 2L, 2L] of `repeated_prompts`: query i ≥ L targets key i − L + 1."""
    detection = torch.zeros(2 * length, 2 * length)
    queries = torch.arange(length, 2 * length)
    detection[queries, queries - length + 1] = 1.0
    return detection.expand(n, -1, -1)


def _best_head(table: Tensor) -> tuple[float, str]:
    index = int(table.flatten().argmax())
    n_heads = table.shape[1]
    return table.flatten()[index].item(), head_label(index // n_heads, index % n_heads)


def train_hf_induction(
    config: HFInductionConfig = HFInductionConfig(),
    *,
    device: torch.device | str = "cpu",
    on_step: Callable[[int], None] | None = None,
) -> HFInductionRun:
    """Train from `config.seed` on fresh batches of the language: AdamW on the next-token loss,
    the learning rate warmed up linearly over `warmup_steps`.

    history, at every `eval_every` step and every saved step: `train_loss` (this step's batch),
    `test_loss` (the held-out sequences), `induction_loss` and `induction_accuracy` (argmax) on
    their positions predictable by induction, and the best head's `induction_score`,
    `repeat_score` and `platform_induction_score`, each with the head's label (`L1H2`)."""
    generator = torch.Generator().manual_seed(config.seed)
    rule = torch.randperm(config.n_tokens, generator=generator)  # ρ
    model = new_model(config, generator=generator)
    # transformers wraps `.to` in a decorator its annotations type wrongly; this is the same move.
    torch.nn.Module.to(model, torch.device(device))
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    warmup = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min(1.0, (step + 1) / (config.warmup_steps + 1))
    )

    def batch(n: int) -> tuple[Tensor, Tensor]:
        tokens, predictable = repeated_sequences(
            n,
            d_vocab=config.n_tokens,
            n_ctx=config.n_ctx,
            min_period=config.min_period,
            max_period=config.max_period,
            generator=generator,
            prefix_rule=rule,
        )
        return tokens.to(device), predictable.to(device)

    held_out, held_out_predictable = batch(config.n_held_out)
    prompts = held_out[: config.n_score_prompts]
    detection = detection_patterns(prompts)["induction"]  # [prompts, q, k]
    length = config.n_ctx // 2
    repeats = repeated_prompts(
        config.n_score_prompts, n_tokens=config.n_tokens, length=length, generator=generator
    ).to(device)
    repeats_detection = repeat_targets(config.n_score_prompts, length).to(device)
    history: dict[str, list[float | int | str]] = {key: [] for key in HISTORY_KEYS}

    def evaluate(step: int, tokens: Tensor) -> None:
        with torch.inference_mode():
            train_loss = next_token_loss(model(tokens).logits, tokens).item()
            logits = model(held_out).logits  # [n_held_out, n_ctx, vocab]
        hits = logits[:, :-1].argmax(dim=-1) == held_out[:, 1:]  # [n_held_out, n_ctx − 1]
        patterns = attention_patterns(model, prompts)
        induction, induction_head = _best_head(targeted_scores(patterns, detection))
        repeat, repeat_head = _best_head(
            targeted_scores(attention_patterns(model, repeats), repeats_detection)
        )
        platform, platform_head = _best_head(head_scores(patterns, detection))
        row: dict[str, float | int | str] = {
            "step": step,
            "train_loss": train_loss,
            "test_loss": next_token_loss(logits, held_out).item(),
            "induction_loss": induction_loss(logits, held_out, held_out_predictable).item(),
            "induction_accuracy": hits[held_out_predictable[:, :-1]].float().mean().item(),
            "induction_score": induction,
            "induction_head": induction_head,
            "repeat_score": repeat,
            "repeat_head": repeat_head,
            "platform_induction_score": platform,
            "platform_induction_head": platform_head,
        }
        for key in HISTORY_KEYS:
            history[key].append(row[key])

    checkpoints: list[tuple[int, dict[str, Tensor]]] = []
    for step in range(config.steps + 1):
        saved = step % config.checkpoint_every == 0 or step == config.steps
        if saved:
            checkpoints.append((step, {k: v.detach().clone().cpu() for k, v in model.state_dict().items()}))
        tokens, _ = batch(config.batch_size)
        if saved or step % config.eval_every == 0:
            evaluate(step, tokens)
        if step == config.steps:
            break
        loss = next_token_loss(model(tokens).logits, tokens)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        warmup.step()
        if on_step is not None:
            on_step(step + 1)
    return HFInductionRun(config, model, rule.cpu(), held_out.cpu(), checkpoints, history)


def word_level_tokenizer(n_tokens: int) -> Tokenizer:
    """Whitespace-separated words "t0" … "t{n_tokens−1}" to ids 0 … n_tokens − 1, and
    `<|endoftext|>` to n_tokens; any other word is refused (no unknown-token id)."""
    vocab = {f"t{i}": i for i in range(n_tokens)} | {END_OF_TEXT: n_tokens}
    tokenizer = Tokenizer(models.WordLevel(vocab))
    tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer.add_special_tokens([END_OF_TEXT])
    return tokenizer


def write_run(run: HFInductionRun, out: Path) -> None:
    """The step folders, `dataset.safetensors`, `tokenizer.json` and `history.json` under `out`;
    step folders left by an earlier run there are removed first, so the series is this run's."""
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("step-[0-9][0-9][0-9][0-9][0-9]"):
        shutil.rmtree(stale)
    tokenizer_file = out / "tokenizer.json"
    word_level_tokenizer(run.config.n_tokens).save(str(tokenizer_file))
    model = new_model(run.config, generator=torch.Generator().manual_seed(0))
    for step, state in run.checkpoints:
        model.load_state_dict(state)
        folder = out / f"step-{step:05d}"
        model.save_pretrained(folder)
        shutil.copyfile(tokenizer_file, folder / "tokenizer.json")
    save_file({"input_ids": run.held_out.to(torch.int64).contiguous()}, str(out / "dataset.safetensors"))
    (out / "history.json").write_text(json.dumps(run.history, indent=1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m analysis_workers.demo.hf_induction", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--steps", type=int, default=HFInductionConfig.steps)
    parser.add_argument(
        "--every",
        type=int,
        default=HFInductionConfig.checkpoint_every,
        help="save a checkpoint every this many steps",
    )
    parser.add_argument("--seed", type=int, default=HFInductionConfig.seed)
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads (the model's operations are too small to gain from more; on a busy "
        "machine extra threads mostly wait on each other)",
    )
    args = parser.parse_args(argv)
    done = args.out / "done.json"
    wanted = {"steps": args.steps, "every": args.every, "seed": args.seed}
    if done.is_file() and json.loads(done.read_text()) == wanted:
        print(f"reusing the trained series in {args.out}")
        return 0
    try:
        config = HFInductionConfig(
            steps=args.steps,
            checkpoint_every=args.every,
            eval_every=min(args.every, HFInductionConfig.eval_every),
            seed=args.seed,
        )
        set_worker_threads(args.threads)
    except ValueError as problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    done.unlink(missing_ok=True)  # a half-written folder is never taken for a finished one
    run = train_hf_induction(config)
    write_run(run, args.out)
    last = {key: values[-1] for key, values in run.history.items()}
    print(
        f"trained {config.steps} steps: in-context accuracy {last['induction_accuracy']:.2f}, "
        f"best induction score {last['induction_score']:.2f} ({last['induction_head']})"
    )
    done.write_text(json.dumps(wanted))
    return 0


if __name__ == "__main__":
    sys.exit(main())
