"""Which CASE loss term pulls the K_CS vertex states together? For each weighted term of L, the first-order change
of the states' spread (between-vertex variance / mean squared norm) under a gradient-descent step on that term
alone, on the first N training dialogues of an annotated ED (dropout off); prints one line per term.

    python -m empathetic_models.training.analysis.loss_pressure CHECKPOINT ANNOTATED_DATASET [--dialogues 32]
"""

import argparse

import datasets
import torch

from empathetic_models.inference import load_checkpoint


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint")
    parser.add_argument("annotated", help="save_to_disk folder of ED with CASE's commonsense columns")
    parser.add_argument("--dialogues", type=int, default=32)
    args = parser.parse_args()
    model, _, featurizer = load_checkpoint(args.checkpoint, "cpu")
    model.train()
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    data = datasets.load_from_disk(args.annotated)["train"].select(range(args.dialogues))
    features = featurizer(data[:])
    batch = featurizer.pad([dict(zip(features, row, strict=True)) for row in zip(*features.values(), strict=True)])
    params = [p for p in model.parameters() if p.requires_grad]

    def gradient(value: torch.Tensor) -> torch.Tensor:
        grads = torch.autograd.grad(value, params, retain_graph=True, allow_unused=True)
        return torch.cat([(g if g is not None else torch.zeros_like(p)).flatten() for g, p in zip(grads, params, strict=True)])

    out = model(**batch)
    encoded = model.get_encoder()(**{k: v for k, v in batch.items() if k not in ("labels", "emotion_labels")})
    states = encoded.cognition[encoded.knowledge_mask]
    spread = states.var(0).sum() / states.pow(2).sum(-1).mean()
    toward_spread = gradient(spread)
    c = model.config
    weights = {"bow_loss": c.alignment_loss_weight, "kl_loss": c.alignment_loss_weight, "coarse_loss": c.alignment_loss_weight,
               "fine_loss": c.alignment_loss_weight * c.fine_alignment_weight, "emotion_loss": c.emotion_loss_weight,
               "generation_loss": c.generation_loss_weight, "diversity_loss": c.diversity_loss_weight}  # fmt: skip
    print(f"spread {float(spread):.3e}")
    for name, weight in weights.items():
        if getattr(out, name, None) is not None:
            change = -(toward_spread @ gradient(weight * getattr(out, name)))
            print(f"{name:16s} {float(getattr(out, name)):8.3f}  spread change under a descent step: {float(change):+.1e}")


if __name__ == "__main__":
    main()
