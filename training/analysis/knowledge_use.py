"""Does a CASE checkpoint's knowledge discernment tell its K_CS inferences apart? Spread of the K_CS vertex states
and shape of the priors on the first N dialogues of an annotated ED split (a folder written by ``empathetic-models
knowledge annotate --task case``); prints JSON.

    python -m empathetic_models.training.analysis.knowledge_use CHECKPOINT ANNOTATED_DATASET [--split test] [--dialogues 64]
"""

import argparse
import json

import datasets
import torch

from empathetic_models.inference import load_checkpoint


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint")
    parser.add_argument("annotated", help="save_to_disk folder of ED with CASE's commonsense columns")
    parser.add_argument("--split", default="test")
    parser.add_argument("--dialogues", type=int, default=64)
    args = parser.parse_args()
    model, _, featurizer = load_checkpoint(args.checkpoint, "cpu")
    data = datasets.load_from_disk(args.annotated)[args.split].select(range(args.dialogues))
    features = featurizer(data[:])
    batch = featurizer.pad([dict(zip(features, row, strict=True)) for row in zip(*features.values(), strict=True)])
    batch.pop("labels"), batch.pop("emotion_labels", None)
    with torch.no_grad():
        out = model.get_encoder()(**batch)
    spread, uniformity = [], []
    for i in range(len(data)):
        states = out.cognition[i][out.knowledge_mask[i]]
        if len(states) > 1:
            spread.append(float(torch.cdist(states, states).max() / states.norm(dim=-1).mean()))
            uniformity.append(float(out.cognition_prior[i].max() * len(states)))
    print(json.dumps({
        "checkpoint": args.checkpoint, "split": args.split, "dialogues": len(data),
        "k_cs_state_spread": round(sum(spread) / len(spread), 6),  # max pairwise distance / mean norm; 0: all identical
        "cognition_prior_max_times_n": round(sum(uniformity) / len(uniformity), 4),  # 1: uniform over K_CS
        "concept_prior_max": round(float(out.concept_prior.max(-1).values.mean()), 4),  # 1: one-hot
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
