"""Choose an emotion-cause detector's decision threshold on RECCON validation and check it on ED (issue 21).

    python -m empathetic_models.training.calibrate_cause_detector --detector PATH --reccon_dir DIR --data_source ED_DIR \\
        --output hub_cards/knowledge/cause_calibration.json [--write_calibration]

The threshold is the one of 0.05, 0.10, …, 0.95 with the best macro F1 on RECCON's validation pairs. The JSON holds
that curve, RECCON test F1 at 0.5 and at the chosen threshold, the detector's accuracy / F1 on the hand-labelled ED
cause set (hub_cards/knowledge/ed_cause_eval/) at both, and the fraction of ED context utterances it marks causal
(``--ed_split``) at both, with the command, commit and hardware. ``--write_calibration`` stores the threshold in the
detector folder (``cause_calibration.json``), which ``CauseDetector.from_pretrained`` and the featurizers then use.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from empathetic_models.data import load_empathetic_dialogues
from empathetic_models.knowledge.cause_eval import calibrate_threshold, causal_fraction, evaluate_detector_on_ed_set
from empathetic_models.knowledge.causes import CALIBRATION_FILE, CauseDetector, cause_f1, load_reccon
from empathetic_models.provenance import provenance
from empathetic_models.training.evaluate_cause_detector import GAO_ET_AL_ACCURACY


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m empathetic_models.training.calibrate_cause_detector", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--detector", required=True, help="cause detector folder (train_cause_detector output)")
    parser.add_argument("--reccon_dir", required=True, help="folder with RECCON's dailydialog_{valid,test}.json")
    parser.add_argument("--data_source", required=True, help="ED: 'sample', a folder with the CSVs, or the tarball")
    parser.add_argument("--labels", default="hub_cards/knowledge/ed_cause_eval/labels.jsonl", help="hand-labelled ED cause set")
    parser.add_argument("--ed_split", default="test", help="ED split (paper style) whose causal fraction is reported")
    parser.add_argument("--output", required=True, help="results JSON to write")
    parser.add_argument("--max_length", type=int, default=None, help="tokens per detector input (default: the length it was trained on)")
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--device", default=None, help="cpu / cuda (default: cuda when available)")
    parser.add_argument("--write_calibration", action="store_true", help=f"write the threshold to DETECTOR/{CALIBRATION_FILE}")
    return parser


def main(argv: list[str] | None = None) -> dict:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    run_provenance = provenance()
    detector = CauseDetector.from_pretrained(args.detector, max_length=args.max_length, device=args.device)
    reccon = load_reccon(args.reccon_dir, splits=("valid", "test"))

    def probabilities(split):
        data = reccon[split]
        return detector.cause_probabilities(data["emotion"], data["target"], data["candidate"], data["history"], args.batch_size)

    threshold, curve = calibrate_threshold(reccon["valid"]["label"], probabilities("valid"))
    test_probabilities, thresholds = probabilities("test"), sorted({0.5, threshold})
    reccon_test = {t: {k: round(v, 2) for k, v in cause_f1(reccon["test"]["label"], [int(p >= t) for p in test_probabilities]).items()}
                   for t in thresholds}  # fmt: skip
    ed_set = {t: evaluate_detector_on_ed_set(detector, args.labels, t, args.batch_size) for t in thresholds}
    ed = load_empathetic_dialogues(args.data_source, split_style="paper", splits=args.ed_split)[args.ed_split]
    fraction = causal_fraction(detector, ed, thresholds, args.batch_size)
    results = {
        **run_provenance,
        "detector": args.detector,
        "detector_fingerprint": detector.fingerprint(),
        "max_length": detector.max_length,
        "selection": "best macro F1 on RECCON validation pairs over thresholds 0.05-0.95",
        "threshold": threshold,
        "reccon_valid_curve": curve,
        "reccon_test": {str(t): reccon_test[t] for t in thresholds},
        "ed_cause_eval": {str(t): ed_set[t] for t in thresholds},
        "ed_causal_fraction": {"split": args.ed_split, **{str(t): fraction[t] for t in thresholds}},
        "gao_et_al_accuracy": GAO_ET_AL_ACCURACY,
    }
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2) + "\n")
    if args.write_calibration:
        (Path(args.detector) / CALIBRATION_FILE).write_text(json.dumps({"threshold": threshold, "selected_on": results["selection"]}, indent=2) + "\n")
    print(json.dumps({"threshold": threshold, "reccon_test": results["reccon_test"], "ed_cause_eval": {t: {k: v[k] for k in ("accuracy", "f1")} for t, v in results["ed_cause_eval"].items()},
                      "ed_causal_fraction": results["ed_causal_fraction"]}))  # fmt: skip
    return results


if __name__ == "__main__":
    main()
