"""Transformers whose weights are set by hand, so tests know the ground truth.

`induction_circuit()`: 2 layers × 2 heads, attention-only, no normalisation.
    L0H0 an exact previous-token head, L0H1 a duplicate-token head, L1H0 an induction
    head reading L0H0's output through its keys (K-composition), L1H1 a first-token head.
`backup_circuit(with_backup)`: 2 layers × 1 head. L0H0 copies the first token into the
    answer subspace and raises a flag; L1H0 does the same job only when the flag is
    down (a backup head), so zero-ablating L0H0 is compensated downstream.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from analysis_workers.zoo.transformer import Transformer, TransformerConfig

SCORE = 40.0  # attention logit for a match: softmax puts ~all weight on matching keys

# induction_circuit layout: BOS is token 0; content tokens 1..V−1.
V = 8
N_CTX = 12
TOK, POS, PREV, ANS = 0, V, V + N_CTX, 2 * V + N_CTX
D_MODEL = 3 * V + N_CTX
D_HEAD = V + N_CTX
LOGIT_SCALE = 10.0


def induction_circuit() -> Transformer:
    cfg = TransformerConfig(
        d_vocab=V,
        n_ctx=N_CTX,
        d_model=D_MODEL,
        n_heads=2,
        d_head=D_HEAD,
        d_mlp=0,
        n_layers=2,
        normalization=None,
        attn_only=True,
    )
    model = Transformer(cfg, generator=torch.Generator().manual_seed(0))
    key_scale = SCORE * math.sqrt(D_HEAD)  # undo the 1/sqrt(d_head) in the attention scores
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.zero_()
        model.embed.W_E[:, TOK : TOK + V] = torch.eye(V)
        model.pos_embed.W_pos[:, POS : POS + N_CTX] = torch.eye(N_CTX)
        layer0, layer1 = model.blocks[0].attn, model.blocks[1].attn
        # L0H0 previous token: query at i matches key at j iff j = i − 1; copies x_j into PREV.
        for i in range(N_CTX):
            layer0.W_Q[0, POS + i, i] = 1.0
            if i + 1 < N_CTX:
                layer0.W_K[0, POS + i, i + 1] = key_scale
        layer0.W_V[0, TOK : TOK + V, :V] = torch.eye(V)
        layer0.W_O[0, :V, PREV : PREV + V] = torch.eye(V)
        # L0H1 duplicate token: same token, not itself; writes nothing.
        layer0.W_Q[1, TOK : TOK + V, :V] = torch.eye(V)
        layer0.W_K[1, TOK : TOK + V, :V] = key_scale * torch.eye(V)
        layer0.W_Q[1, POS : POS + N_CTX, V : V + N_CTX] = torch.eye(N_CTX)
        layer0.W_K[1, POS : POS + N_CTX, V : V + N_CTX] = -key_scale * torch.eye(N_CTX)
        # L1H0 induction: query x_i matches keys whose previous token (PREV) is x_i; copies x_j to ANS.
        layer1.W_Q[0, TOK : TOK + V, :V] = torch.eye(V)
        layer1.W_K[0, PREV : PREV + V, :V] = key_scale * torch.eye(V)
        layer1.W_V[0, TOK : TOK + V, :V] = torch.eye(V)
        layer1.W_O[0, :V, ANS : ANS + V] = torch.eye(V)
        # L1H1 first token: every query matches position 0; writes nothing.
        layer1.W_Q[1, POS : POS + N_CTX, 0] = 1.0
        layer1.W_K[1, POS, 0] = key_scale
        model.unembed.W_U[ANS : ANS + V, :] = LOGIT_SCALE * torch.eye(V)
    return model


def repeated_prompts(n: int, *, half: int = 5, seed: int = 0) -> Tensor:
    """[n, 1 + 2·half] rows: BOS, `half` distinct content tokens, the same tokens again."""
    generator = torch.Generator().manual_seed(seed)
    content = torch.rand(n, V - 1, generator=generator).argsort(dim=1)[:, :half] + 1  # [n, half]
    bos = torch.zeros(n, 1, dtype=torch.long)
    return torch.cat([bos, content, content], dim=1)


# backup_circuit layout: answers 0..4, filler token 5.
N_ANSWERS = 5
FILLER = N_ANSWERS
B_TOK, B_ANS, B_FIRST, B_CONST, B_FLAG = (
    0,
    N_ANSWERS + 1,
    2 * N_ANSWERS + 1,
    2 * N_ANSWERS + 2,
    2 * N_ANSWERS + 3,
)
B_D_MODEL = 2 * N_ANSWERS + 4
B_D_HEAD = N_ANSWERS + 1


def backup_circuit(*, with_backup: bool = True) -> Transformer:
    cfg = TransformerConfig(
        d_vocab=N_ANSWERS + 1,
        n_ctx=8,
        d_model=B_D_MODEL,
        n_heads=1,
        d_head=B_D_HEAD,
        d_mlp=0,
        n_layers=2,
        normalization=None,
        attn_only=True,
    )
    model = Transformer(cfg, generator=torch.Generator().manual_seed(0))
    key_scale = SCORE * math.sqrt(B_D_HEAD)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.zero_()
        model.embed.W_E[:, B_TOK : B_TOK + N_ANSWERS + 1] = torch.eye(N_ANSWERS + 1)
        model.pos_embed.W_pos[0, B_FIRST] = 1.0
        model.pos_embed.W_pos[:, B_CONST] = 1.0
        primary, backup = model.blocks[0].attn, model.blocks[1].attn
        # L0H0: attends to position 0, copies its answer token into ANS and sets FLAG = 1.
        primary.W_Q[0, B_CONST, 0] = 1.0
        primary.W_K[0, B_FIRST, 0] = key_scale
        primary.W_V[0, B_TOK : B_TOK + N_ANSWERS, :N_ANSWERS] = torch.eye(N_ANSWERS)
        primary.W_V[0, B_CONST, N_ANSWERS] = 1.0
        primary.W_O[0, :N_ANSWERS, B_ANS : B_ANS + N_ANSWERS] = torch.eye(N_ANSWERS)
        primary.W_O[0, N_ANSWERS, B_FLAG] = 1.0
        if with_backup:
            # L1H0: score to position 0 is SCORE·(1 − 2·FLAG): it looks there only when FLAG is down.
            backup.W_Q[0, B_CONST, 0] = 1.0
            backup.W_Q[0, B_FLAG, 0] = -2.0
            backup.W_K[0, B_FIRST, 0] = key_scale
            backup.W_V[0, B_TOK : B_TOK + N_ANSWERS, :N_ANSWERS] = torch.eye(N_ANSWERS)
            backup.W_O[0, :N_ANSWERS, B_ANS : B_ANS + N_ANSWERS] = torch.eye(N_ANSWERS)
        model.unembed.W_U[B_ANS : B_ANS + N_ANSWERS, :N_ANSWERS] = 6.0 * torch.eye(N_ANSWERS)
    return model


def first_token_prompts(length: int = 5) -> tuple[Tensor, Tensor]:
    """tokens [5, length]: (answer a, filler, …, filler) for each answer a; and the answers [5]."""
    answers = torch.arange(N_ANSWERS)
    tokens = torch.full((N_ANSWERS, length), FILLER, dtype=torch.long)
    tokens[:, 0] = answers
    return tokens, answers


# feature_circuit layout: token one-hots, position one-hots, one feature dimension.
F_VOCAB = 8
F_CTX = 6
F_FEATURE = F_VOCAB + F_CTX


def feature_circuit() -> Transformer:
    """Block 0's only head copies the parity of the first token (±1) into one residual direction.

    Read at the last position, the parity is absent from the embedding (stage 0) and
    linearly present after block 0 (stage 1) and after block 1 (stage 2), which does nothing.
    """
    cfg = TransformerConfig(
        d_vocab=F_VOCAB,
        n_ctx=F_CTX,
        d_model=F_VOCAB + F_CTX + 1,
        n_heads=1,
        d_head=1,
        d_mlp=0,
        n_layers=2,
        normalization=None,
        attn_only=True,
    )
    model = Transformer(cfg, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.zero_()
        model.embed.W_E[:, :F_VOCAB] = torch.eye(F_VOCAB)
        model.pos_embed.W_pos[:, F_VOCAB:F_FEATURE] = torch.eye(F_CTX)
        first = model.blocks[0].attn
        first.W_Q[0, F_VOCAB:F_FEATURE, 0] = 1.0
        first.W_K[0, F_VOCAB, 0] = SCORE
        parity = 1.0 - 2.0 * (torch.arange(F_VOCAB) % 2).double()  # +1 even, −1 odd
        first.W_V[0, :F_VOCAB, 0] = parity.float()
        first.W_O[0, 0, F_FEATURE] = 1.0
        model.unembed.W_U[:F_VOCAB, :] = torch.eye(F_VOCAB)
    return model


def feature_prompts(n: int, *, seed: int = 0) -> tuple[Tensor, Tensor]:
    """Random tokens [n, F_CTX] and the parity of each first token [n]."""
    tokens = torch.randint(0, F_VOCAB, (n, F_CTX), generator=torch.Generator().manual_seed(seed))
    return tokens, tokens[:, 0] % 2
