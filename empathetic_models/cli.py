"""``empathetic-models`` command line: train, benchmark, evaluate, generate, chat, annotate-*, card, push."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from .data import DataError


def _decoding_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("decoding (default: the checkpoint's generation_config.json)")
    group.add_argument("--max-new-tokens", type=int, help="maximum response length in tokens")
    group.add_argument("--num-beams", type=int, help="beam search width (1 = greedy)")
    group.add_argument("--do-sample", action=argparse.BooleanOptionalAction, default=None, help="sample instead of search")
    group.add_argument("--top-k", type=int, help="top-k sampling")
    group.add_argument("--batch-size", type=int, default=64, help="dialogues per generation batch (default 64)")
    group.add_argument("--device", help="cpu, cuda, cuda:1 … (default: cuda if available)")


def _generate_kwargs(args: argparse.Namespace) -> dict:
    names = ("max_new_tokens", "num_beams", "do_sample", "top_k")
    return {name: getattr(args, name) for name in names if getattr(args, name) is not None}


def cmd_train(args: argparse.Namespace) -> int:
    launcher = ["accelerate", "launch", *args.accelerate_args] if args.accelerate else [sys.executable]
    return subprocess.call([*launcher, "-m", "training.train", args.recipe, *args.overrides])


def cmd_benchmark(args: argparse.Namespace) -> int:
    return subprocess.call([sys.executable, "-m", "training.benchmark", *args.arguments])


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .evaluation import write_results
    from .evaluation.leaderboard import score_system_outputs
    from .evaluation.released import load_system_outputs
    from .provenance import provenance

    output_dir = Path(args.output_dir)
    if args.predictions:
        systems = load_system_outputs(args.predictions, args.format, args.references)
        encoder = (args.similarity_encoder or "default") if args.embedding_similarity else None
        for system, data in systems.items():
            source = f"{Path(args.predictions).name}" + (f" ({system})" if len(systems) > 1 else "")
            results = score_system_outputs(system, data, source, args.definition, encoder, args.decoding_label)
            results.update(provenance("empathetic-models"))
            name = f"{system}_results" if len(systems) > 1 else f"{args.split}_results"
            json_path, md_path = write_results(results, output_dir, name=name)
            print(md_path.read_text())
            for definition, metrics in results.get("metrics_by_definition", {}).items():
                print(f"{definition}: " + ", ".join(f"{k} {v:.4g}" for k, v in metrics.items()))
            print(f"wrote {json_path} and {md_path}")
        return 0
    from .data import load_empathetic_dialogues
    from .inference import evaluate_model, load_checkpoint

    model, _, featurizer = load_checkpoint(args.model, args.device)
    dataset = load_empathetic_dialogues(args.data, split_style=args.split_style, splits=args.split)[args.split]
    if args.max_examples:
        dataset = dataset.select(range(min(args.max_examples, len(dataset))))
    results, rows = evaluate_model(model, featurizer, dataset, args.batch_size, args.model, **_generate_kwargs(args))
    results["data_source"] = args.data
    output_dir.mkdir(parents=True, exist_ok=True)
    with open(output_dir / f"{args.split}_generations.jsonl", "w") as f:
        f.writelines(json.dumps(row) + "\n" for row in rows)
    json_path, md_path = write_results(results, output_dir, name=f"{args.split}_results")
    print(md_path.read_text())
    print(f"wrote {json_path} and {md_path}")
    return 0


def _read_dialogues(path: str) -> list[dict]:
    records = []
    with open(path) as f:
        for line_number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise DataError(f"{path}:{line_number}: not valid JSON ({error.msg})") from None
            if isinstance(record, (str, list)):
                record = {"dialogue": record}
            if not isinstance(record, dict) or not any(k in record for k in ("dialogue", "context")):
                raise DataError(f"{path}:{line_number}: expected a list of utterances or an object with 'dialogue'")
            records.append(record)
    if not records:
        raise DataError(f"{path}: no dialogues")
    return records


def cmd_generate(args: argparse.Namespace) -> int:
    from .data import validate_dialogue
    from .inference import generate_responses, load_checkpoint

    records = _read_dialogues(args.input)
    dialogues = []
    for number, record in enumerate(records, 1):
        try:
            dialogues.append(validate_dialogue(record.get("dialogue", record.get("context"))))
        except DataError as error:
            raise DataError(f"{args.input}: dialogue {number}: {error}") from None
    model, _, featurizer = load_checkpoint(args.model, args.device)
    responses, emotions = generate_responses(model, featurizer, dialogues, args.batch_size, **_generate_kwargs(args))
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    with open(output, "w") as f:
        for record, response, emotion in zip(records, responses, emotions, strict=True):
            f.write(json.dumps({**record, "response": response, "predicted_emotion": emotion}) + "\n")
    print(f"wrote {len(responses)} responses to {output}")
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    from .inference import generate_responses, load_checkpoint

    model, _, featurizer = load_checkpoint(args.model, args.device)
    print("Type a message (/reset starts a new conversation, /quit or Ctrl-D ends).")
    history: list[str] = []
    for line in sys.stdin if not sys.stdin.isatty() else iter(lambda: input("you> "), None):
        message = line.strip()
        if message == "/quit":
            break
        if message == "/reset" or not message:
            history = [] if message == "/reset" else history
            continue
        if len(history) % 2:  # the model's last reply was empty: the speaker's turn goes on
            history[-1] = f"{history[-1]} {message}"
        else:
            history.append(message)
        (response,), (emotion,) = generate_responses(model, featurizer, [history], progress=False, **_generate_kwargs(args))
        if response:
            history.append(response)
            print(f"bot [{emotion or 'no emotion head'}]> {response}", flush=True)
        else:
            print(f"bot [{emotion or 'no emotion head'}]> (no reply: the model ended its response at once; say more)", flush=True)
    return 0


def cmd_annotate_concepts(args: argparse.Namespace) -> int:
    import time

    from .data import describe_split, load_empathetic_dialogues
    from .knowledge import ConceptIndex, ConceptRetriever, VADLexicon, annotate_concepts
    from .provenance import provenance

    start = time.perf_counter()
    retriever = ConceptRetriever(ConceptIndex.from_file(args.conceptnet), VADLexicon.from_file(args.vad))
    load_seconds = time.perf_counter() - start
    dataset = load_empathetic_dialogues(args.data, split_style=args.split_style)
    stats = {
        **provenance("empathetic-models"),
        "num_proc": args.num_proc or 1,
        "split": "train, valid, test",
        "split_style": describe_split(dataset),
        "concept_source": retriever.source,
        "fingerprint": retriever.fingerprint,
        "resource_load_s": round(load_seconds, 2),
        "splits": {},
    }
    for split in dataset:
        start = time.perf_counter()
        dataset[split] = annotate_concepts(dataset[split], retriever, args.cache_dir, args.num_proc)
        counts = [len(c) for c in dataset[split]["concepts"]]
        stats["splits"][split] = {
            "examples": len(counts),
            "mean_concepts_per_dialogue": round(sum(counts) / len(counts), 3),
            "annotate_wall_clock_s": round(time.perf_counter() - start, 2),
        }
    output = Path(args.output_dir)
    dataset.save_to_disk(str(output / "dataset"))
    (output / "concept_stats.json").write_text(json.dumps(stats, indent=2) + "\n")
    print(json.dumps(stats, indent=2))
    return 0


def cmd_annotate_causes(args: argparse.Namespace) -> int:
    import time

    from .data import describe_split, load_empathetic_dialogues
    from .knowledge.causes import CauseDetector, annotate_causes
    from .provenance import provenance

    detector = CauseDetector.from_pretrained(args.detector, max_length=args.max_length)
    dataset = load_empathetic_dialogues(args.data, split_style=args.split_style)
    stats = {
        **provenance("empathetic-models"),
        "detector": detector.name,
        "threshold": args.threshold,
        "split_style": describe_split(dataset),
        "splits": {},
    }
    for split in dataset:
        start = time.perf_counter()
        dataset[split] = annotate_causes(dataset[split], detector, args.cache_dir, args.threshold, args.batch_size)
        flags = [f for example in dataset[split]["cause_flags"] for f in example]
        stats["splits"][split] = {
            "examples": len(dataset[split]),
            "context_utterances": len(flags),
            "cause_utterance_rate": round(sum(flags) / len(flags), 4),
            "annotate_wall_clock_s": round(time.perf_counter() - start, 2),
        }
    output = Path(args.output_dir)
    dataset.save_to_disk(str(output / "dataset"))
    (output / "cause_stats.json").write_text(json.dumps(stats, indent=2) + "\n")
    print(json.dumps(stats, indent=2))
    return 0


def _commonsense(args: argparse.Namespace):
    from .knowledge.commonsense import offline_commonsense

    return offline_commonsense(atomic=args.atomic, conceptnet=args.conceptnet, comet=args.comet, encoder=args.encoder,
                               cache_dir=Path(args.cache_dir) / "atomic_index", neighbors=args.neighbors)  # fmt: skip


def cmd_knowledge_annotate(args: argparse.Namespace) -> int:
    import time

    from .data import describe_split, load_empathetic_dialogues
    from .knowledge.commonsense_annotation import annotate_commonsense, commonsense_sources
    from .provenance import provenance

    start = time.perf_counter()
    knowledge = _commonsense(args)
    build_seconds = time.perf_counter() - start
    dataset = load_empathetic_dialogues(args.data, split_style=args.split_style)
    stats = {**provenance("empathetic-models"), "tasks": args.task, "k": args.k, "split_style": describe_split(dataset),
             "knowledge_build_wall_clock_s": round(build_seconds, 2), "splits": {}}  # fmt: skip
    for split in dataset:
        stats["splits"][split] = {"examples": len(dataset[split])}
        for task in args.task:
            start = time.perf_counter()
            dataset[split] = annotate_commonsense(dataset[split], knowledge, task, Path(args.cache_dir) / "annotations", args.k,
                                                  args.max_entities, args.batch_size)  # fmt: skip
            stats["splits"][split][f"{task}_wall_clock_s"] = round(time.perf_counter() - start, 2)
    stats["columns"] = commonsense_sources(dataset["train"])
    stats["total_wall_clock_s"] = round(build_seconds + sum(v for s in stats["splits"].values() for k, v in s.items() if k.endswith("_s")), 2)
    output = Path(args.output_dir)
    dataset.save_to_disk(str(output / "dataset"))
    (output / "commonsense_stats.json").write_text(json.dumps(stats, indent=2) + "\n")
    print(json.dumps(stats, indent=2))
    return 0


def cmd_knowledge_compare(args: argparse.Namespace) -> int:
    import time

    from .knowledge.commonsense import COMET, AtomicRetriever, ConceptNetCommonsense, load_atomic
    from .knowledge.commonsense_eval import ReleasedGenerations, compare_sources, exclude_heads, load_system_eval
    from .knowledge.sentence_encoder import SentenceEncoder
    from .provenance import provenance

    queries = load_system_eval(args.queries)
    if args.max_queries:
        queries = queries[: args.max_queries]
    sources, build = {}, {}
    if args.atomic:
        start = time.perf_counter()
        triples = exclude_heads(load_atomic(args.atomic), [q["head"] for q in queries])  # never index an evaluated head
        encoder = SentenceEncoder.from_pretrained(args.encoder)
        name = ", ".join(Path(p).name for p in args.atomic) + " minus the evaluated heads"
        for neighbors in args.neighbors:  # the first builds (or loads) the cached head embeddings
            key = "atomic_retrieval" if len(args.neighbors) == 1 else f"atomic_retrieval_{neighbors}nn"
            sources[key] = AtomicRetriever(triples, encoder, name, Path(args.cache_dir) / "atomic_index", neighbors)
            build[key] = round(time.perf_counter() - start, 2)
            start = time.perf_counter()
        build["atomic_retrieval"] = round(time.perf_counter() - start, 2)
    if args.conceptnet:
        start = time.perf_counter()
        sources["conceptnet"] = ConceptNetCommonsense.from_file(args.conceptnet)
        build["conceptnet"] = round(time.perf_counter() - start, 2)
    for path in args.comet or []:
        start = time.perf_counter()
        sources[f"comet:{Path(path).name}"] = COMET.from_pretrained(path)
        build[f"comet:{Path(path).name}"] = round(time.perf_counter() - start, 2)
    if args.released_generations:
        sources["comet_bart_released"] = ReleasedGenerations(args.released_generations)
    if not sources:
        raise ValueError("nothing to compare: give --atomic, --conceptnet, --comet and/or --released-generations")
    report = {**provenance("empathetic-models"), "queries_file": Path(args.queries).name, "queries": len(queries),
              "metric": "corpus BLEU-1/2 x 100 of the first inference vs all gold tails (lower-cased white-space tokens)",
              "build_wall_clock_s": build, "sources": compare_sources(queries, sources)}  # fmt: skip
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    output.with_suffix(".md").write_text(_comparison_markdown(report))
    print(output.with_suffix(".md").read_text())
    return 0


def _comparison_markdown(report: dict) -> str:
    names = list(report["sources"])
    def cell(entry):
        if entry is None or entry["bleu_1"] is None:
            return "—"
        return f"{entry['bleu_2']:.2f} / {entry['bleu_1']:.2f} ({100 * entry['coverage']:.0f}%)"

    lines = [f"# Commonsense sources on {report['queries']} held-out ATOMIC-2020 queries ({report['queries_file']})", "",
             f"BLEU-2 / BLEU-1 (coverage); {report['metric']}. Command: `{report['command']}` at {report['commit']}.", "",
             "| relation | queries | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]  # fmt: skip
    first = report["sources"][names[0]]
    for group in first["groups"]:
        entries = [report["sources"][n]["groups"][group] for n in names]
        lines.append(f"| **{group}** (pooled) | {entries[0]['queries']} | " + " | ".join(cell(e) for e in entries) + " |")
    relations = sorted({r for n in names for r in report["sources"][n]["relations"]})
    for relation in relations:
        entries = [report["sources"][n]["relations"].get(relation) for n in names]
        count = next(e["queries"] for e in entries if e)
        lines.append(f"| {relation} | {count} | " + " | ".join(cell(e) for e in entries) + " |")
    lines += ["", "| source | what | queries/s | build (s) |", "|---|---|---|---|"]
    for name in names:
        entry = report["sources"][name]
        lines.append(f"| {name} | {entry['source']} | {entry['queries_per_second']} | {report['build_wall_clock_s'].get(name, '—')} |")
    return "\n".join(lines) + "\n"


def cmd_leaderboard(args: argparse.Namespace) -> int:
    from .evaluation import write_results
    from .evaluation.leaderboard import score_system_outputs, write_leaderboard
    from .evaluation.released import load_system_outputs
    from .provenance import provenance

    results_dir = Path(args.results_dir)
    for path in args.released or []:
        for system, data in load_system_outputs(path).items():
            results = score_system_outputs(system, data, f"released outputs: {Path(path).name}", args.definition,
                                           "default" if args.embedding_similarity else None, RELEASED_DECODING.get(system))  # fmt: skip
            results.update(provenance("empathetic-models"))
            write_results(results, results_dir / "released", name=system)
    rows = write_leaderboard(results_dir, args.output_dir, args.readme, provenance("empathetic-models"))
    print(f"{len(rows)} rows → {Path(args.output_dir) / 'leaderboard.md'} and leaderboard.svg")
    return 0


# how the released systems decoded (their papers and files)
RELEASED_DECODING = {"transformer": "greedy", "multi_trs": "greedy", "moel": "greedy", "moel_oracle": "greedy (gold emotion)",
                     "mime_greedy": "greedy", "mime_beam": "beam", "mime_topk": "top-k sampling"}  # fmt: skip


def cmd_annotate_mechanisms(args: argparse.Namespace) -> int:
    import time

    from .data import describe_split, load_empathetic_dialogues
    from .knowledge.mechanisms import MechanismClassifier, annotate_mechanisms
    from .provenance import provenance

    paths = {key: getattr(args, key) for key in ("er", "ip", "ex") if getattr(args, key)}
    if not paths:
        raise ValueError("give at least one classifier: --er, --ip and/or --ex (trained by python -m training.train_mechanism_classifier)")
    classifiers = {key: MechanismClassifier.from_pretrained(path, key, args.max_length) for key, path in paths.items()}
    dataset = load_empathetic_dialogues(args.data, split_style=args.split_style)
    stats = {**provenance("empathetic-models"), "classifiers": {k: c.name for k, c in classifiers.items()},
             "split_style": describe_split(dataset), "splits": {}}  # fmt: skip
    for split in dataset:
        start = time.perf_counter()
        dataset[split] = annotate_mechanisms(dataset[split], classifiers, args.cache_dir, args.batch_size)
        stats["splits"][split] = {
            "examples": len(dataset[split]),
            **{f"share_{k}": round(100 * sum(dataset[split][f"cm_{k}"]) / len(dataset[split]), 2) for k in classifiers},
            "annotate_wall_clock_s": round(time.perf_counter() - start, 2),
        }
    output = Path(args.output_dir)
    dataset.save_to_disk(str(output / "dataset"))
    (output / "mechanism_stats.json").write_text(json.dumps(stats, indent=2) + "\n")
    print(json.dumps(stats, indent=2))
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
    from .evaluation.curves import compare_learning_curves, comparison_markdown, learning_curve_svg

    sources = {}
    for item in args.runs:
        label, sep, path = item.partition("=")
        if not sep:
            raise ValueError(f"{item!r}: give each run as LABEL=PATH (a training output folder or a results JSON)")
        sources[label] = path
    from .provenance import provenance

    comparison = {**provenance("empathetic-models"), **compare_learning_curves(sources, metric=args.metric)}  # how it was made
    if args.note:
        comparison["note"] = args.note
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(comparison, indent=2) + "\n")
    out.with_suffix(".md").write_text(comparison_markdown(comparison, args.title or out.name))
    curves = {label: v["learning_curve"] for label, v in comparison["variants"].items()}
    out.with_suffix(".svg").write_text(learning_curve_svg(curves, metric=args.metric))
    for suffix in (".json", ".md", ".svg"):
        print(f"wrote {out.with_suffix(suffix)}")
    return 0


def cmd_push(args: argparse.Namespace) -> int:
    from .hub import push_checkpoint

    url = push_checkpoint(args.checkpoint, args.repo_id, token=args.token, private=args.private)
    print(f"pushed {args.checkpoint} to {url}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="empathetic-models", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train a model from a recipe (runs training.train)", description=(
        "Run `python -m training.train RECIPE [overrides]` (or under `accelerate launch`). RECIPE is a YAML file "
        "or a recipe name from training/recipes (e.g. sample, empathetic_transformer). "
        "`python -m training.train --help` lists every override flag."))  # fmt: skip
    p.add_argument("recipe", help="recipe YAML path or name")
    p.add_argument("overrides", nargs=argparse.REMAINDER, help="--flag value pairs overriding the recipe")
    p.add_argument("--accelerate", action="store_true", help="launch with `accelerate launch`")
    p.add_argument("--accelerate-args", nargs="*", default=[], help="arguments for accelerate launch, e.g. --num_processes 2")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("benchmark", help="measure training / generation speed and knowledge annotation (runs training.benchmark)",
                       description=(
        "Run `python -m training.benchmark [flags]`: training examples/s, batched generation (greedy and beam) against "
        "one-dialogue-at-a-time decoding, knowledge annotation time; JSON + Markdown under hub_cards/results/speed/. "
        "`python -m training.benchmark --help` lists every flag."), add_help=False)  # fmt: skip
    p.add_argument("arguments", nargs=argparse.REMAINDER, help="flags of training.benchmark (--help lists them)")
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
    p.add_argument("--data", default="sample", help="ED source: 'sample', a folder with the CSVs, the tarball or its URL")
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
        "OUTPUT_DIR/concept_stats.json; the map is cached in --cache-dir under a fingerprint of data and resources."))  # fmt: skip
    p.add_argument("--conceptnet", required=True, help="ConceptNet 5 assertions CSV(.gz) or a ConceptNet 4 TSV(.gz)")
    p.add_argument("--vad", required=True, help="NRC-VAD-Lexicon.txt")
    p.add_argument("--data", default="sample", help="ED source: 'sample', a folder with the CSVs, the tarball or its URL")
    p.add_argument("--split-style", default="full", choices=("full", "paper"))
    p.add_argument("--cache-dir", default=str(Path.home() / ".cache" / "empathetic_models" / "concepts"), help="annotation cache")
    p.add_argument("--num-proc", type=int, help="worker processes for the map")
    p.add_argument("--output-dir", required=True, help="where the annotated dataset and statistics go")
    p.set_defaults(func=cmd_annotate_concepts)

    p = sub.add_parser("annotate-causes", help="mark the context utterances that cause the speaker's emotion (cached)",
                       description=(
        "Score every (speaker's last utterance, context utterance) pair of ED with a cause detector trained by "
        "python -m training.train_cause_detector; writes OUTPUT_DIR/dataset (cause_probs, cause_flags, "
        "cause_word_labels) and OUTPUT_DIR/cause_stats.json. Cached in --cache-dir under a fingerprint of data and detector."))  # fmt: skip
    p.add_argument("--detector", required=True, help="cause detector folder or hub id (AutoModelForSequenceClassification, 2 labels)")
    p.add_argument("--data", default="sample", help="ED source: 'sample', a folder with the CSVs, the tarball or its URL")
    p.add_argument("--split-style", default="full", choices=("full", "paper"))
    p.add_argument("--threshold", type=float, default=0.5, help="P(cause) at which an utterance counts as a cause")
    p.add_argument("--max-length", type=int, default=256, help="tokens per detector input")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--cache-dir", default=str(Path.home() / ".cache" / "empathetic_models" / "causes"), help="annotation cache")
    p.add_argument("--output-dir", required=True, help="where the annotated dataset and statistics go")
    p.set_defaults(func=cmd_annotate_causes)

    p = sub.add_parser("annotate-mechanisms", help="label ED responses with communication mechanisms ER / IP / EX (cached)",
                       description=(
        "Classify every ED target (the response; the context is the seeker post) with EPITOME-trained classifiers "
        "(python -m training.train_mechanism_classifier); adds cm_<er|ip|ex> (weak or strong → 1) and the level, writes "
        "OUTPUT_DIR/dataset and OUTPUT_DIR/mechanism_stats.json (share of each mechanism per split)."))  # fmt: skip
    for key, name in (("er", "Emotional Reactions"), ("ip", "Interpretations"), ("ex", "Explorations")):
        p.add_argument(f"--{key}", help=f"{name} classifier folder or hub id")
    p.add_argument("--data", default="sample", help="ED source: 'sample', a folder with the CSVs, the tarball or its URL")
    p.add_argument("--split-style", default="full", choices=("full", "paper"))
    p.add_argument("--max-length", type=int, default=256)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--cache-dir", default=str(Path.home() / ".cache" / "empathetic_models" / "mechanisms"), help="annotation cache")
    p.add_argument("--output-dir", required=True)
    p.set_defaults(func=cmd_annotate_mechanisms)

    p = sub.add_parser("knowledge", help="commonsense (ATOMIC / ConceptNet / COMET) for CASE, IMAGINE and NEC",
                       description="Annotate ED with commonsense inferences, or compare commonsense sources.")
    knowledge = p.add_subparsers(dest="knowledge_command", required=True, metavar="{annotate,compare}")

    def resources(q):
        q.add_argument("--atomic", nargs="+", help="ATOMIC tuple files (head<TAB>relation<TAB>tail TSV(.gz), or the ATOMIC-2020 system-eval TSV)")
        q.add_argument("--conceptnet", help="ConceptNet 5 assertions CSV(.gz) or ConceptNet 4 TSV(.gz): physical / entity relations")
        q.add_argument("--encoder", help="sentence encoder for ATOMIC retrieval (default: all-MiniLM-L6-v2)")
        q.add_argument("--cache-dir", default=str(Path.home() / ".cache" / "empathetic_models" / "commonsense"), help="index and annotation cache")

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
    q.add_argument("--data", default="sample", help="ED source: 'sample', a folder with the CSVs, the tarball or its URL")
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
        ".json and .svg (Dist-2 against BLEU-2, colour = emotion accuracy); --readme refreshes its leaderboard block."))  # fmt: skip
    p.add_argument("--results-dir", default="hub_cards/results", help="where results JSON live (default hub_cards/results)")
    p.add_argument("--released", nargs="+", help="released generation files to score first")
    p.add_argument("--definition", nargs="+", default=["multi_bleu", "whitespace"], choices=("canonical", "kemp", "multi_bleu", "gao2021", "whitespace"),
                   help="per-paper definitions to record too")
    p.add_argument("--embedding-similarity", action="store_true", help="add all-MiniLM-L6-v2 cosine to the reference")
    p.add_argument("--output-dir", default="hub_cards/results/leaderboard")
    p.add_argument("--readme", help="README whose <!-- leaderboard:start/end --> block to refresh")
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
    if argv[:1] == ["benchmark"]:  # every flag, --help included, belongs to training.benchmark
        return cmd_benchmark(argparse.Namespace(arguments=argv[1:]))
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (DataError, FileNotFoundError, ImportError, ValueError) as error:
        print(f"empathetic-models {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
