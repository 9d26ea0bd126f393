"""``empathetic-models`` command line: train, benchmark, evaluate, generate, chat, annotate-*, knowledge, leaderboard,
card, publish, curves, push.

This module only parses: each ``cmd_*`` turns its arguments into one call of a library function (in
``empathetic_models.inference``, ``.evaluation``, ``.knowledge``, ``.cards``, ``.hub``) and prints what it returns.
Long options are dashed and named as the training flags are (``--data-source`` as ``--data_source``); the spellings
before the rename (``--data``, ``--vad``, ...) still work for one release, hidden from ``--help``, with a
``FutureWarning`` naming the new flag (:data:`RENAMED_FLAGS`).
"""

from __future__ import annotations

import argparse
import copy
import json
import subprocess
import sys
import warnings
from pathlib import Path

from .data import DataError

# old spelling → new spelling, per the subcommands that had it; the old ones go in the release after next
RENAMED_FLAGS = {
    "--data": "--data-source",  # evaluate, annotate-*, knowledge annotate
    "--vad": "--vad-lexicon",  # annotate-concepts
    "--num-proc": "--preprocessing-num-workers",  # annotate-concepts
    "--detector": "--cause-detector",  # annotate-causes
    "--er": "--er-classifier",  # annotate-mechanisms
    "--ip": "--ip-classifier",
    "--ex": "--ex-classifier",
    "--encoder": "--commonsense-encoder",  # knowledge annotate / compare
    "--cache-dir": "--knowledge-cache-dir",  # annotate-*, knowledge annotate / compare
    "--batch-size": "--generation-batch-size",  # evaluate, generate, chat (annotate-* keep --batch-size: a map batch)
    "--readme": "--update-readme",  # leaderboard (as card's)
}


class _RenamedStore(argparse._StoreAction):
    """A stored option that also answers to its old spellings (``old_spellings``), warning that they are deprecated."""

    def __init__(self, option_strings, dest, old_spellings=(), **kwargs):
        super().__init__(option_strings, dest, **kwargs)
        self.old_spellings = tuple(old_spellings)

    def __call__(self, parser, namespace, values, option_string=None):
        if option_string in self.old_spellings:
            warn_renamed(option_string, self.option_strings[0])
        super().__call__(parser, namespace, values, option_string)


def warn_renamed(old: str, new: str) -> None:
    """Warn (``FutureWarning``) that flag ``old`` is deprecated in favour of ``new``, attributed to the code that
    called the parser (not to argparse or this module)."""
    level, frame = 1, sys._getframe(0)
    while frame is not None and frame.f_code.co_filename in (__file__, argparse.__file__):
        level, frame = level + 1, frame.f_back
    warnings.warn(f"empathetic-models: {old} is deprecated and will be removed in the next release; use {new}", FutureWarning, stacklevel=level)


def _option(parser, flag: str, **kwargs) -> argparse.Action:
    """Add the dashed long option ``flag``; an old spelling of it (:data:`RENAMED_FLAGS`) is accepted too, hidden."""
    old = tuple(o for o, n in RENAMED_FLAGS.items() if n == flag and kwargs.get("action") is None)
    if not old:
        return parser.add_argument(flag, **kwargs)
    return parser.add_argument(flag, *old, action=_RenamedStore, old_spellings=old, **kwargs)


class _HelpFormatter(argparse.HelpFormatter):
    """Help without the deprecated spellings of renamed options."""

    def _format_action_invocation(self, action):
        old = getattr(action, "old_spellings", ())
        if old:
            action = copy.copy(action)
            action.option_strings = [s for s in action.option_strings if s not in old]
        return super()._format_action_invocation(action)


class _Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` (and, through ``parser_class``, every subparser) with :class:`_HelpFormatter`."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)


def _decoding_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("decoding (default: the checkpoint's generation_config.json)")
    group.add_argument("--max-new-tokens", type=int, help="maximum response length in tokens")
    group.add_argument("--num-beams", type=int, help="beam search width (1 = greedy)")
    group.add_argument("--do-sample", action=argparse.BooleanOptionalAction, default=None, help="sample instead of search")
    group.add_argument("--top-k", type=int, help="top-k sampling")
    _option(group, "--generation-batch-size", type=int, default=64, help="dialogues per generation batch (default 64)")
    group.add_argument("--device", help="cpu, cuda, cuda:1 … (default: cuda if available)")


def _generate_kwargs(args: argparse.Namespace) -> dict:
    names = ("max_new_tokens", "num_beams", "do_sample", "top_k")
    return {name: getattr(args, name) for name in names if getattr(args, name) is not None}


def _labelled_paths(items: list[str]) -> dict[str, str]:
    """``LABEL=PATH`` arguments as ``{label: path}``."""
    sources = {}
    for item in items:
        label, sep, path = item.partition("=")
        if not sep:
            raise ValueError(f"{item!r}: give each run as LABEL=PATH (a training output folder or a results JSON)")
        sources[label] = path
    return sources


def cmd_train(args: argparse.Namespace) -> int:
    argv = [args.recipe, *args.overrides]
    if args.accelerate:  # the launcher starts its own processes, each running our module by its namespaced name
        return subprocess.call(["accelerate", "launch", *args.accelerate_args, "-m", "empathetic_models.training.train", *argv])
    # training imports this package, never the other way at import time: imported here, when the command runs
    from .training.train import main as train

    train(argv)
    return 0


def cmd_benchmark(args: argparse.Namespace) -> int:
    from .training.benchmark import main as benchmark  # as in cmd_train: training is imported only when it runs

    benchmark(args.arguments)
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .evaluation import results_summary

    if args.predictions:
        from .evaluation.leaderboard import score_predictions_file

        encoder = (args.similarity_encoder or "default") if args.embedding_similarity else None
        for results, json_path, md_path in score_predictions_file(args.predictions, args.output_dir, args.format, args.references,
                                                                  args.definition, encoder, args.decoding_label, args.split):  # fmt: skip
            print(results_summary(results, json_path, md_path))
        return 0
    from .inference import evaluate_checkpoint_on_ed

    results, json_path, md_path = evaluate_checkpoint_on_ed(args.model, args.output_dir, args.data_source, args.split, args.split_style,
                                                            args.max_examples, args.generation_batch_size, args.device,
                                                            **_generate_kwargs(args))  # fmt: skip
    print(results_summary(results, json_path, md_path))
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    from .inference import respond_to_file

    count = respond_to_file(args.model, args.input, args.output, args.generation_batch_size, args.device, **_generate_kwargs(args))
    print(f"wrote {count} responses to {Path(args.output)}")
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    from .inference import chat

    chat(args.model, args.device, **_generate_kwargs(args))
    return 0


def cmd_annotate_concepts(args: argparse.Namespace) -> int:
    from .knowledge.ed_annotation import annotate_ed_concepts

    stats = annotate_ed_concepts(args.conceptnet, args.vad_lexicon, args.output_dir, args.data_source, args.split_style,
                                 args.knowledge_cache_dir, args.preprocessing_num_workers)  # fmt: skip
    print(json.dumps(stats, indent=2))
    return 0


def cmd_annotate_causes(args: argparse.Namespace) -> int:
    from .knowledge.ed_annotation import annotate_ed_causes

    stats = annotate_ed_causes(args.cause_detector, args.output_dir, args.data_source, args.split_style, args.threshold,
                               args.max_length, args.batch_size, args.knowledge_cache_dir)  # fmt: skip
    print(json.dumps(stats, indent=2))
    return 0


def cmd_annotate_mechanisms(args: argparse.Namespace) -> int:
    from .knowledge.ed_annotation import annotate_ed_mechanisms

    classifiers = {"er": args.er_classifier, "ip": args.ip_classifier, "ex": args.ex_classifier}
    stats = annotate_ed_mechanisms(classifiers, args.output_dir, args.data_source, args.split_style, args.max_length, args.batch_size,
                                   args.knowledge_cache_dir)  # fmt: skip
    print(json.dumps(stats, indent=2))
    return 0


def cmd_knowledge_annotate(args: argparse.Namespace) -> int:
    from .knowledge.ed_annotation import annotate_ed_commonsense

    stats = annotate_ed_commonsense(args.output_dir, args.task, args.atomic, args.conceptnet, args.comet, args.commonsense_encoder,
                                    args.knowledge_cache_dir, args.neighbors, args.data_source, args.split_style, args.k,
                                    args.max_entities, args.batch_size)  # fmt: skip
    print(json.dumps(stats, indent=2))
    return 0


def cmd_knowledge_compare(args: argparse.Namespace) -> int:
    from .knowledge.commonsense_eval import write_source_comparison

    write_source_comparison(args.queries, args.output, args.atomic, args.conceptnet, args.comet, args.released_generations,
                            args.commonsense_encoder, args.knowledge_cache_dir, args.neighbors, args.max_queries)  # fmt: skip
    print(Path(args.output).with_suffix(".md").read_text())
    return 0


def cmd_leaderboard(args: argparse.Namespace) -> int:
    from .evaluation.leaderboard import score_released_outputs, write_leaderboard
    from .provenance import provenance

    score_released_outputs(args.released or [], args.results_dir, args.definition, args.embedding_similarity)
    rows = write_leaderboard(args.results_dir, args.output_dir, args.update_readme, provenance("empathetic-models"))
    print(f"{len(rows)} rows → {Path(args.output_dir) / 'leaderboard.md'} and leaderboard.svg")
    return 0


def cmd_card(args: argparse.Namespace) -> int:
    from .cards import update_readme, write_card

    if args.update_readme:
        changed = update_readme(args.update_readme)
        print(f"{'updated' if changed else 'already up to date:'} {args.update_readme}")
    if args.checkpoint:
        print(f"wrote {write_card(args.checkpoint, args.results, args.model_id)}")
    elif not args.update_readme:
        raise ValueError("give a checkpoint folder, --update-readme README.md, or both")
    return 0


def cmd_publish(args: argparse.Namespace) -> int:
    from .cards import publish_run

    for path in publish_run(args.run_dir, args.name, args.results_dir, note=args.note, command=args.command_line):
        print(f"wrote {path}")
    return 0


def cmd_curves(args: argparse.Namespace) -> int:
    from .evaluation.curves import write_curve_comparison

    for path in write_curve_comparison(_labelled_paths(args.runs), args.output, args.metric, args.title, args.note):
        print(f"wrote {path}")
    return 0


def cmd_push(args: argparse.Namespace) -> int:
    from .hub import push_checkpoint

    url = push_checkpoint(args.checkpoint, args.repo_id, token=args.token, private=args.private)
    print(f"pushed {args.checkpoint} to {url}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="empathetic-models", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train a model from a recipe (empathetic_models.training.train)", description=(
        "Train as `python -m empathetic_models.training.train RECIPE [overrides]` does, in this process (with --accelerate: "
        "under `accelerate launch -m empathetic_models.training.train`). RECIPE is a YAML file or a recipe name from "
        "training/recipes (e.g. sample, empathetic_transformer). `empathetic-models train RECIPE --help` lists every "
        "override flag."))  # fmt: skip
    p.add_argument("recipe", help="recipe YAML path or name")
    p.add_argument("overrides", nargs=argparse.REMAINDER, help="--flag value pairs overriding the recipe")
    p.add_argument("--accelerate", action="store_true", help="launch with `accelerate launch`")
    p.add_argument("--accelerate-args", nargs="*", default=[], help="arguments for accelerate launch, e.g. --num_processes 2")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("benchmark", help="measure training / generation speed and knowledge annotation (empathetic_models.training.benchmark)",
                       description=(
        "Run empathetic_models.training.benchmark in this process: training examples/s, batched generation (greedy and beam) against "
        "one-dialogue-at-a-time decoding, knowledge annotation time; JSON + Markdown under hub_cards/results/speed/. "
        "`empathetic-models benchmark --help` lists every flag."), add_help=False)  # fmt: skip
    p.add_argument("arguments", nargs=argparse.REMAINDER, help="flags of empathetic_models.training.benchmark (--help lists them)")
    p.set_defaults(func=cmd_benchmark)

    p = sub.add_parser("evaluate", help="score a checkpoint on ED, or a file of generated responses", description=(
        "With --model: PPL, BLEU-1..4, Dist-1/2, Sent-Std, top-5 share and emotion accuracy on an ED split (greedy "
        "decoding unless overridden). With --predictions: the text metrics of every system in a file of generated responses "
        "(--format), emotion accuracy when it has labels, --definition variants beside the canonical metrics. Writes "
        "<split>_results.json and .md (<system>_results.* for a file of several systems)."))  # fmt: skip
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", help="checkpoint folder or hub id")
    source.add_argument("--predictions", help="JSONL of predictions/references, or a text file of predictions")
    p.add_argument("--references", help="text file of references, one per line (with a text --predictions)")
    p.add_argument("--format", default="auto", choices=("auto", "moel", "mime", "jsonl", "tsv", "text"),
                   help="--predictions file format: MoEL's / MIME's released outputs (every system in them is scored), JSONL, "
                        "TSV with a header (prediction, reference[, emotion, predicted_emotion]), or text + --references")
    p.add_argument("--definition", nargs="+", default=[], choices=("canonical", "kemp", "multi_bleu", "gao2021", "whitespace"),
                   help="also score with these per-paper metric definitions (empathetic_models.evaluation.definitions)")
    p.add_argument("--embedding-similarity", action="store_true", help="add the cosine to the reference of a sentence encoder")
    p.add_argument("--similarity-encoder", help="that encoder (default: all-MiniLM-L6-v2)")
    p.add_argument("--decoding-label", help="how the --predictions were decoded, recorded with the results (e.g. 'greedy')")
    _option(p, "--data-source", default="sample", help="ED source: 'sample', a folder with the CSVs, the tarball or its URL")
    p.add_argument("--split", default="test", choices=("train", "valid", "test"))
    p.add_argument("--split-style", default="full", choices=("full", "paper"))
    p.add_argument("--max-examples", type=int, help="score only the first N examples")
    p.add_argument("--output-dir", default="evaluation", help="where the results files go (default ./evaluation)")
    _decoding_flags(p)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("generate", help="respond to a JSONL file of dialogues", description=(
        "Each input line is a list of utterances (the last is the speaker's) or an object with 'dialogue'; each output "
        "line repeats it with 'response' and 'predicted_emotion'."))  # fmt: skip
    p.add_argument("--model", required=True, help="checkpoint folder or hub id")
    p.add_argument("--input", required=True, help="JSONL of dialogues")
    p.add_argument("--output", required=True, help="JSONL to write")
    _decoding_flags(p)
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("chat", help="talk to a checkpoint; shows the predicted emotion")
    p.add_argument("--model", required=True, help="checkpoint folder or hub id")
    _decoding_flags(p)
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("annotate-concepts", help="add KEMP's ConceptNet concepts to ED (cached) and report statistics",
                       description=(
        "Retrieve emotional concepts per dialogue (KEMP: relevant relations, weight > 0.1, top-5 per word by NRC-VAD "
        "emotion intensity, at most 10 per dialogue, stop-words skipped). Writes OUTPUT_DIR/dataset (save_to_disk) and "
        "OUTPUT_DIR/concept_stats.json; the map is cached in --knowledge-cache-dir under a fingerprint of data and resources."))  # fmt: skip
    p.add_argument("--conceptnet", required=True, help="ConceptNet 5 assertions CSV(.gz) or a ConceptNet 4 TSV(.gz)")
    _option(p, "--vad-lexicon", required=True, help="NRC-VAD-Lexicon.txt")
    _option(p, "--data-source", default="sample", help="ED source: 'sample', a folder with the CSVs, the tarball or its URL")
    p.add_argument("--split-style", default="full", choices=("full", "paper"))
    _option(p, "--knowledge-cache-dir", default=str(Path.home() / ".cache" / "empathetic_models" / "concepts"), help="annotation cache")
    _option(p, "--preprocessing-num-workers", type=int, help="worker processes for the map")
    p.add_argument("--output-dir", required=True, help="where the annotated dataset and statistics go")
    p.set_defaults(func=cmd_annotate_concepts)

    p = sub.add_parser("annotate-causes", help="mark the context utterances that cause the speaker's emotion (cached)",
                       description=(
        "Score every (speaker's last utterance, context utterance) pair of ED with a cause detector trained by "
        "python -m empathetic_models.training.train_cause_detector; writes OUTPUT_DIR/dataset (cause_probs, cause_flags, "
        "cause_word_labels) and OUTPUT_DIR/cause_stats.json. Cached in --knowledge-cache-dir under a fingerprint of data and detector."))  # fmt: skip
    _option(p, "--cause-detector", required=True, help="cause detector folder or hub id (AutoModelForSequenceClassification, 2 labels)")
    _option(p, "--data-source", default="sample", help="ED source: 'sample', a folder with the CSVs, the tarball or its URL")
    p.add_argument("--split-style", default="full", choices=("full", "paper"))
    p.add_argument("--threshold", type=float, default=0.5, help="P(cause) at which an utterance counts as a cause")
    p.add_argument("--max-length", type=int, default=None, help="tokens per detector input (default: the length it was trained on)")
    p.add_argument("--batch-size", type=int, default=64)
    _option(p, "--knowledge-cache-dir", default=str(Path.home() / ".cache" / "empathetic_models" / "causes"), help="annotation cache")
    p.add_argument("--output-dir", required=True, help="where the annotated dataset and statistics go")
    p.set_defaults(func=cmd_annotate_causes)

    p = sub.add_parser("annotate-mechanisms", help="label ED responses with communication mechanisms ER / IP / EX (cached)",
                       description=(
        "Classify every ED target (the response; the context is the seeker post) with EPITOME-trained classifiers "
        "(python -m empathetic_models.training.train_mechanism_classifier); adds cm_<er|ip|ex> (weak or strong → 1) and the level, writes "
        "OUTPUT_DIR/dataset and OUTPUT_DIR/mechanism_stats.json (share of each mechanism per split)."))  # fmt: skip
    for key, name in (("er", "Emotional Reactions"), ("ip", "Interpretations"), ("ex", "Explorations")):
        _option(p, f"--{key}-classifier", help=f"{name} classifier folder or hub id")
    _option(p, "--data-source", default="sample", help="ED source: 'sample', a folder with the CSVs, the tarball or its URL")
    p.add_argument("--split-style", default="full", choices=("full", "paper"))
    p.add_argument("--max-length", type=int, default=None, help="tokens per classifier input (default: the length each was trained on)")
    p.add_argument("--batch-size", type=int, default=64)
    _option(p, "--knowledge-cache-dir", default=str(Path.home() / ".cache" / "empathetic_models" / "mechanisms"), help="annotation cache")
    p.add_argument("--output-dir", required=True)
    p.set_defaults(func=cmd_annotate_mechanisms)

    p = sub.add_parser("knowledge", help="commonsense (ATOMIC / ConceptNet / COMET) for CASE, IMAGINE and NEC",
                       description="Annotate ED with commonsense inferences, or compare commonsense sources.")
    knowledge = p.add_subparsers(dest="knowledge_command", required=True, metavar="{annotate,compare}")

    def resources(q):
        q.add_argument("--atomic", nargs="+", help="ATOMIC tuple files (head<TAB>relation<TAB>tail TSV(.gz), or the ATOMIC-2020 system-eval TSV)")
        q.add_argument("--conceptnet", help="ConceptNet 5 assertions CSV(.gz) or ConceptNet 4 TSV(.gz): physical / entity relations")
        _option(q, "--commonsense-encoder", help="sentence encoder for ATOMIC retrieval (default: all-MiniLM-L6-v2)")
        _option(q, "--knowledge-cache-dir", default=str(Path.home() / ".cache" / "empathetic_models" / "commonsense"), help="index and annotation cache")

    q = knowledge.add_parser("annotate", help="add commonsense columns to ED (cached), with a progress bar per split",
                             description=(
        "Add the commonsense each model reads: --task case (xIntent/xNeed/xWant/xEffect/xReact for the last utterance "
        "and its sub-utterances), imagine (11 relations of the context), nec (social relations of the last utterance; "
        "entity relations of the history's nouns). With --comet every relation comes from that COMET-ATOMIC2020 "
        "checkpoint; otherwise ATOMIC retrieval answers the social/event relations and ConceptNet the physical/entity "
        "ones. Writes OUTPUT_DIR/dataset (save_to_disk; its info.description names the source of every column) and "
        "OUTPUT_DIR/commonsense_stats.json (wall-clock per split and task)."))  # fmt: skip
    resources(q)
    q.add_argument("--comet", help="COMET-ATOMIC2020 seq2seq checkpoint (hub id or path)")
    q.add_argument("--neighbors", type=int, default=25, help="ATOMIC heads voting per query (retrieval)")
    q.add_argument("--task", nargs="+", default=["case", "imagine", "nec"], choices=("case", "imagine", "nec"))
    _option(q, "--data-source", default="sample", help="ED source: 'sample', a folder with the CSVs, the tarball or its URL")
    q.add_argument("--split-style", default="full", choices=("full", "paper"))
    q.add_argument("--k", type=int, default=5, help="inferences per (head, relation) (default 5, as CASE/IMAGINE)")
    q.add_argument("--max-entities", type=int, default=10, help="NEC entities per dialogue")
    q.add_argument("--batch-size", type=int, default=256, help="examples per map batch")
    q.add_argument("--output-dir", required=True)
    q.set_defaults(func=cmd_knowledge_annotate)

    q = knowledge.add_parser("compare", help="score commonsense sources on held-out ATOMIC-2020 queries (BLEU-1/2, speed)",
                             description=(
        "Score each source's first inference against the gold tails of the ATOMIC-2020 system-eval queries, per "
        "relation; ATOMIC retrieval indexes --atomic minus every evaluated head. Writes OUTPUT.json and OUTPUT.md."))  # fmt: skip
    resources(q)
    q.add_argument("--queries", required=True, help="ATOMIC-2020 system-eval TSV (head @@ relation<TAB>tails)")
    q.add_argument("--comet", nargs="+", help="COMET-style checkpoints to score (hub ids or paths)")
    q.add_argument("--released-generations", help="released COMET-BART generations JSONL of the same queries (reference)")
    q.add_argument("--max-queries", type=int, help="score only the first N queries")
    q.add_argument("--neighbors", type=int, nargs="+", default=[25], help="ATOMIC heads voting per query; several values → one source each")
    q.add_argument("--output", required=True, help="output path without suffix (.json and .md are written)")
    q.set_defaults(func=cmd_knowledge_compare)

    p = sub.add_parser("leaderboard", help="one table and plot of our results and scored released outputs", description=(
        "Score --released generation files (MoEL / MIME formats, JSONL, TSV) with the canonical metrics into "
        "RESULTS_DIR/released/, then collect every results JSON under RESULTS_DIR into OUTPUT_DIR/leaderboard.md, "
        ".json and .svg (Dist-2 against BLEU-2, colour = emotion accuracy); --update-readme refreshes its leaderboard block."))  # fmt: skip
    p.add_argument("--results-dir", default="hub_cards/results", help="where results JSON live (default hub_cards/results)")
    p.add_argument("--released", nargs="+", help="released generation files to score first")
    p.add_argument("--definition", nargs="+", default=["multi_bleu", "whitespace"], choices=("canonical", "kemp", "multi_bleu", "gao2021", "whitespace"),
                   help="per-paper definitions to record too")
    p.add_argument("--embedding-similarity", action="store_true", help="add all-MiniLM-L6-v2 cosine to the reference")
    p.add_argument("--output-dir", default="hub_cards/results/leaderboard")
    _option(p, "--update-readme", metavar="README", help="README whose <!-- leaderboard:start/end --> block to refresh")
    p.set_defaults(func=cmd_leaderboard)

    p = sub.add_parser("card", help="write a checkpoint's model card (README.md) from a results JSON", description=(
        "Write CHECKPOINT/README.md from hub_cards/templates/<model_type>.md and a results JSON (metrics without "
        "results are marked 'not measured'); --update-readme refreshes the results table of the project README "
        "from hub_cards/results/."))  # fmt: skip
    p.add_argument("checkpoint", nargs="?", help="checkpoint folder")
    p.add_argument("--results", help="results JSON (default: <checkpoint>/results/test_results.json if present)")
    p.add_argument("--model-id", help="Hub id to show in the card's usage snippet (default empathetic-models/<model_type>)")
    p.add_argument("--update-readme", metavar="README", help="rewrite the results block of this README")
    p.set_defaults(func=cmd_card)

    p = sub.add_parser("publish", help="publish a finished run's test results, learning curve (JSON + SVG) and card", description=(
        "Write RESULTS_DIR/<model_type>/NAME.json and .md (the run's results/test_results.json with its selection metric "
        "and learning curve, one {step, eval_ppl, ...} per evaluation, from trainer_state.json), NAME.svg (validation PPL "
        "per evaluation, the selected step circled) and NAME.card.md."))  # fmt: skip
    p.add_argument("run_dir", help="the training run's output_dir")
    p.add_argument("--name", required=True, help="file stem, e.g. multi_trs_ed_paper_split_cpu")
    p.add_argument("--results-dir", default="hub_cards/results", help="default hub_cards/results")
    p.add_argument("--note", help="a note recorded in the results (schedule, hardware, what differs from the paper)")
    p.add_argument("--command-line", help="the exact training command, when the run recorded another")
    p.set_defaults(func=cmd_publish)

    p = sub.add_parser("curves", help="compare the learning curves of several runs (an ablation at the same budget)", description=(
        "Read each LABEL=PATH (a training output folder, or a results JSON written by publish) and write OUTPUT.json "
        "(each variant's curve, command, commit and lowest validation PPL; the PPL of every variant at each step all "
        "evaluated), OUTPUT.md (the table) and OUTPUT.svg (the curves)."))  # fmt: skip
    p.add_argument("runs", nargs="+", metavar="LABEL=PATH", help="a label and a run folder or results JSON")
    p.add_argument("--output", required=True, help="output path without suffix (.json, .md and .svg are written)")
    p.add_argument("--metric", default="eval_ppl", help="the logged validation metric to compare (default eval_ppl)")
    p.add_argument("--title", help="heading of the Markdown table")
    p.add_argument("--note", help="a note recorded in the JSON (what the variants are, the budget)")
    p.set_defaults(func=cmd_curves)

    p = sub.add_parser("push", help="upload a checkpoint folder (with its card) to the Hugging Face Hub")
    p.add_argument("checkpoint", help="checkpoint folder")
    p.add_argument("repo_id", help="namespace/name on the Hub")
    p.add_argument("--private", action="store_true", help="create the repository as private")
    p.add_argument("--token", help="Hub token (default: the logged-in token)")
    p.set_defaults(func=cmd_push)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["benchmark"]:  # every flag, --help included, belongs to empathetic_models.training.benchmark
        return cmd_benchmark(argparse.Namespace(arguments=argv[1:]))
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (DataError, FileNotFoundError, ImportError, ValueError) as error:
        print(f"empathetic-models {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
