"""Train the demo's modular-addition transformer and write its checkpoint series.

    python -m analysis_workers.demo --out DIR [--steps 1000] [--every 100] [--seed 3]

Writes `spec.json` (the zoo spec), `step-NNNNN.safetensors` (one per saved step, through
`zoo.save_checkpoint`: safetensors only), `history.json` (train/test loss and accuracy) and,
last, `done.json`. A finished folder is reused as it is, so rerunning the demo is cheap and safe.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
from tqdm import tqdm

from analysis_workers import zoo
from analysis_workers.demo.modular_addition import ModularAdditionConfig, train_modular_addition
from analysis_workers.specs import ArchitectureSpec, family_named


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m analysis_workers.demo", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--every", type=int, default=100, help="save a checkpoint every this many steps")
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args(argv)
    done = args.out / "done.json"
    wanted = {"steps": args.steps, "every": args.every, "seed": args.seed}
    if done.is_file() and json.loads(done.read_text()) == wanted:
        print(f"reusing the trained series in {args.out}")
        return 0
    try:
        config = ModularAdditionConfig(steps=args.steps, checkpoint_every=args.every, seed=args.seed)
    except ValueError as problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(max(1, min(torch.get_num_threads(), 4)))
    with tqdm(total=config.steps, desc="training (a + b) mod 53", unit="step") as bar:
        run = train_modular_addition(config, on_step=lambda step: bar.update(step - bar.n))
    transformer = family_named("transformer")
    spec = ArchitectureSpec(transformer, run.model.config).as_json()
    (args.out / "spec.json").write_text(json.dumps(spec, indent=1))
    for step, state in run.checkpoints:
        run.model.load_state_dict(state)
        (args.out / f"step-{step:05d}.safetensors").write_bytes(zoo.save_checkpoint(run.model, spec))
    (args.out / "history.json").write_text(json.dumps(run.history))
    history = run.history
    print(
        f"trained: train accuracy {history['train_accuracy'][-1]:.2f}, "
        f"test accuracy {history['test_accuracy'][-1]:.2f} after {config.steps} steps"
    )
    done.write_text(json.dumps(wanted))
    return 0


if __name__ == "__main__":
    sys.exit(main())
