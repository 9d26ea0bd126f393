"""Score an emotion-cause detector on the hand-labelled ED cause evaluation set (Gao et al. 2021 §4.1 report 89 %).

    python -m empathetic_models.training.evaluate_cause_detector --detector PATH \\
        --labels hub_cards/knowledge/ed_cause_eval/labels.jsonl --output hub_cards/knowledge/ed_cause_eval/results.json

The detector (a folder or hub id saved by ``CauseDetector.save_pretrained`` / ``train_cause_detector``) flags each
context utterance exactly as ``annotate_causes`` does; the JSON holds utterance accuracy, cause-class precision /
recall / F1, the gold and predicted positive rates, the counts, and the command, commit, hardware and threshold.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from empathetic_models.knowledge.cause_eval import evaluate_detector_on_ed_set
from empathetic_models.knowledge.causes import CauseDetector
from empathetic_models.provenance import provenance

GAO_ET_AL_ACCURACY = 0.89
"""Gao et al. (2021) §4.1: accuracy of their RECCON-trained detector on their 100 hand-labelled ED test dialogues."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m empathetic_models.training.evaluate_cause_detector", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--detector", required=True, help="cause detector folder or hub id (two-label sequence classifier)")
    parser.add_argument("--labels", default="hub_cards/knowledge/ed_cause_eval/labels.jsonl", help="hand-labelled labels.jsonl")
    parser.add_argument("--output", required=True, help="results JSON to write")
    parser.add_argument("--threshold", type=float, default=0.5, help="P(cause) at or above which an utterance is a cause")
    parser.add_argument("--max-length", type=int, default=None, help="tokens per detector input (default: the length it was trained on, as annotate-causes)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--device", default=None, help="cpu / cuda (default: cuda when available)")
    return parser


def main(argv: list[str] | None = None) -> dict:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    run_provenance = provenance()
    detector = CauseDetector.from_pretrained(args.detector, max_length=args.max_length, device=args.device)
    scores = evaluate_detector_on_ed_set(detector, args.labels, args.threshold, args.batch_size)
    results = {
        **run_provenance,
        "detector": args.detector,
        "detector_fingerprint": detector.fingerprint(),
        "labels": args.labels,
        "threshold": args.threshold,
        "max_length": detector.max_length,
        **scores,
        "gao_et_al_accuracy": GAO_ET_AL_ACCURACY,
    }
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps({k: results[k] for k in ("accuracy", "f1", "precision", "recall", "utterances", "dialogues")}))
    return results


if __name__ == "__main__":
    main()
