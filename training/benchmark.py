"""Measure training and generation speed of a model on EmpatheticDialogues, and its knowledge annotation.

    python -m empathetic_models.training.benchmark --model kemp --data_source DIR --conceptnet CN --vad_lexicon VAD
    empathetic-models benchmark --model checkpoints/kemp_cpu --data_source DIR

``--model`` is a ``model_type`` (a fresh model with its recipe's sizes and a vocabulary built on train, built from
the training script's model arguments: ``--conceptnet``, ``--vad_lexicon``, ``--atomic``, ``--warm_start_encoder``,
…) or a checkpoint folder. Writes ``<output_dir>/<name>.json`` and ``.md`` with the device, command, commit and split:
- training: examples/s and target tokens/s over steady-state optimizer steps (after warm-up steps), the
  implied wall-clock of one epoch over the training split, peak memory;
- generation over the split's contexts (30 new tokens): batched with the key/value cache, greedy and beam
  search, against a reference path that decodes one dialogue at a time without a cache (as the papers'
  released code does) on the first ``--reference_examples`` dialogues; the speed ratio and whether the two
  greedy paths give identical responses;
- knowledge annotation (KEMP's concepts) over the training split: wall-clock and examples/s.
``--train_variants fp32,bf16,bf16+grouped,bf16+grouped+compile`` and ``--generation_variants fp32,bf16`` time
autocast, length-grouped batches and ``torch.compile`` against fp32 in the same run, from the same initial weights.
"""

from __future__ import annotations

import contextlib
import json
import logging
import resource
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import yaml
from transformers import HfArgumentParser, set_seed
from transformers.trainer_pt_utils import get_length_grouped_indices

import empathetic_models
from empathetic_models.data import load_empathetic_dialogues
from empathetic_models.inference import generate_responses, load_checkpoint, perceived_emotions
from empathetic_models.provenance import provenance
from empathetic_models.training.train import RECIPES_DIR, DataArguments, ModelArguments, build_featurizer, build_model, build_tokenizer

logger = logging.getLogger("empathetic_models.training.benchmark")


@dataclass
class BenchmarkArguments:
    model: str = field(default="empathetic_transformer", metadata={"help": f"a model_type {sorted(empathetic_models.ARCHITECTURES)} or a checkpoint folder"})
    data_source: str = field(default="sample", metadata={"help": "'sample', a folder with the ED CSVs, the tarball or its URL"})
    split_style: str = field(default="paper", metadata={"help": "'paper' or 'full'"})
    split: str = field(default="test", metadata={"help": "the split whose contexts are generated for"})
    train_batch_size: int | None = field(default=None, metadata={"help": "examples per optimizer step (default: the recipe's "
                                         "per_device_train_batch_size, else 16)"})
    train_steps: int = field(default=30, metadata={"help": "timed optimizer steps"})
    train_warmup_steps: int = field(default=5, metadata={"help": "untimed optimizer steps before them"})
    generation_batch_size: int = field(default=64, metadata={"help": "dialogues per generation batch"})
    max_new_tokens: int = field(default=30, metadata={"help": "response length limit"})
    num_beams: str = field(default="1,5", metadata={"help": "comma-separated beam widths to time (1 = greedy)"})
    max_examples: int | None = field(default=None, metadata={"help": "generate for the first N contexts only (default: all)"})
    reference_examples: int = field(default=100, metadata={"help": "dialogues decoded one at a time (the slow reference path)"})
    device: str | None = field(default=None, metadata={"help": "cpu, cuda, … (default: cuda if available)"})
    train_variants: str = field(default="fp32", metadata={"help": "comma-separated training set-ups timed from the same initial "
                                "weights: fp32, bf16 / fp16 (autocast), each with optional +compile (torch.compile) and +grouped (length-grouped "
                                "batches, as --train_sampling_strategy group_by_length), e.g. fp32,bf16,bf16+grouped,bf16+grouped+compile"})
    generation_variants: str = field(default="fp32", metadata={"help": "comma-separated precisions for batched generation: fp32, bf16, fp16 (autocast)"})
    threads: str | None = field(default=None, metadata={"help": "comma-separated intra-op thread counts each training variant is timed "
                                "with, e.g. 1,2 (default: torch's current setting)"})
    rounds: int = field(default=1, metadata={"help": "interleaved rounds: each round times every (variant, threads) pair once, so drift "
                        "of a noisy machine hits all of them alike; the report gives the median s/step"})
    max_train_examples: int | None = field(default=None, metadata={"help": "featurize only this many training examples (random, seeded); "
                                           "enough for (warm-up + timed steps) x batch, default: all"})
    count_flops: bool = field(default=True, metadata={"help": "count the FLOP of a training step (forward + backward, "
                              "torch.utils.flop_counter) and compare the achieved rate with this device's measured matmul throughput"})
    generation: bool = field(default=True, metadata={"help": "also time generation (false: training only)"})
    seed: int = field(default=42, metadata={"help": "random seed"})
    output_dir: str = field(default="hub_cards/results/speed", metadata={"help": "where the JSON and Markdown go"})
    name: str | None = field(default=None, metadata={"help": "file name stem (default: <model_type>_<device>)"})


def _recipe(model_type: str) -> dict:
    recipe = RECIPES_DIR / f"{model_type}.yaml"
    return (yaml.safe_load(recipe.read_text()) or {}) if recipe.is_file() else {}


def _recipe_config(model_type: str) -> str | None:
    config = _recipe(model_type).get("model_config")
    return json.dumps(config) if config else None


def _peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


@torch.inference_mode()
def decode_one_at_a_time(model, featurizer, dialogues, max_new_tokens: int) -> list[str]:
    """The reference path: one dialogue at a time, greedy, re-running the decoder over the whole prefix at
    every step (no key/value cache), as the papers' released decoders do."""
    responses = []
    start_id, eos_id = model.config.decoder_start_token_id, model.config.eos_token_id
    for dialogue in dialogues:
        emotions = perceived_emotions(model, featurizer, [dialogue]) if featurizer.needs_emotion else None
        inputs = {k: v.to(model.device) for k, v in featurizer.encode_dialogues([dialogue], emotions).items()}
        encoder_outputs = model.get_encoder()(**inputs)
        tokens = torch.tensor([[start_id]], device=model.device)
        for _ in range(max_new_tokens):
            logits = model(**inputs, encoder_outputs=encoder_outputs, decoder_input_ids=tokens, use_cache=False).logits
            next_token = logits[0, -1].argmax().view(1, 1)
            tokens = torch.cat([tokens, next_token], dim=1)
            if next_token.item() == eos_id:
                break
        responses.append(featurizer.tokenizer.decode(tokens[0], skip_special_tokens=True).strip())
    return responses


AUTOCAST_DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def autocast(precision: str, device: torch.device):
    if precision not in AUTOCAST_DTYPES:
        raise ValueError(f"unknown precision {precision!r}; expected one of {sorted(AUTOCAST_DTYPES)}")
    dtype = AUTOCAST_DTYPES[precision]
    return torch.autocast(device.type, dtype=dtype) if dtype is not None else contextlib.nullcontext()


def _parse_variant(variant: str) -> tuple[str, list[str]]:
    precision, *flags = variant.split("+")
    if precision not in AUTOCAST_DTYPES or not set(flags) <= {"compile", "grouped"}:
        raise ValueError(f"unknown training variant {variant!r}: a precision ({sorted(AUTOCAST_DTYPES)}) with optional +compile, +grouped")
    return precision, flags


def training_batches(train_features, args: BenchmarkArguments, grouped: bool) -> list[list[int]]:
    """The example indices of each (warm-up, then timed) step: random order, or the Trainer's group_by_length order."""
    generator = torch.Generator().manual_seed(args.seed)
    total = args.train_warmup_steps + args.train_steps
    if grouped:
        lengths = [len(f["input_ids"]) for f in train_features]
        order = get_length_grouped_indices(lengths, args.train_batch_size, generator=generator)[: total * args.train_batch_size]
    else:
        order = torch.randperm(len(train_features), generator=generator)[: total * args.train_batch_size].tolist()
    if len(order) < total * args.train_batch_size:
        raise ValueError(f"{len(train_features)} training examples are fewer than (train_warmup_steps + train_steps) x train_batch_size "
                         f"= {total * args.train_batch_size}: raise --max_train_examples or lower the steps")  # fmt: skip
    return [order[i : i + args.train_batch_size] for i in range(0, len(order), args.train_batch_size)]


def count_training_flops(model, featurizer, train_features, args: BenchmarkArguments, steps: int = 10) -> float:
    """Mean FLOP of forward + backward over the first ``steps`` timed batches (matmuls, attention and
    convolutions as torch.utils.flop_counter counts them; element-wise work and the optimizer are not counted)."""
    from torch.utils.flop_counter import FlopCounterMode

    batches = training_batches(train_features, args, grouped=False)[args.train_warmup_steps :][:steps]
    model.train()
    total = 0
    for index in batches:
        batch = {k: v.to(model.device) for k, v in featurizer.pad([train_features[i] for i in index]).items()}
        with FlopCounterMode(display=False) as counter:
            model(**batch).loss.backward()
        total += counter.get_total_flops()
        model.zero_grad(set_to_none=True)
    model.eval()
    return total / len(batches)


def matmul_throughput(device: torch.device, size: int = 2048, repeats: int = 10) -> float:
    """This device's fp32 matmul rate (FLOP/s) on ``size``-square matrices at the current thread setting."""
    a, b = torch.randn(size, size, device=device), torch.randn(size, size, device=device)
    a @ b  # warm-up
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return 2 * size**3 * repeats / (time.perf_counter() - start)


def measure_training(model, featurizer, train_features, args: BenchmarkArguments, variant: str = "fp32") -> dict:
    """Steady-state optimizer steps of the model's own loss with AdamW, batches drawn in random order, under
    ``variant`` (a precision, optionally ``+compile``); the warm-up steps absorb compilation."""
    device = model.device
    precision, flags = _parse_variant(variant)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    forward = torch.compile(model) if "compile" in flags else model
    scaler = torch.amp.GradScaler(device.type, enabled=precision == "fp16")
    batches = training_batches(train_features, args, grouped="grouped" in flags)
    examples = tokens = 0
    start = None
    for step, index in enumerate(batches):
        if step == args.train_warmup_steps:
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            start = time.perf_counter()
        batch = {k: v.to(device) for k, v in featurizer.pad([train_features[i] for i in index]).items()}
        with autocast(precision, device):
            loss = forward(**batch).loss
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad(set_to_none=True)
        if step >= args.train_warmup_steps:
            examples += len(index)
            tokens += int(batch["labels"].ne(-100).sum())
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    seconds = time.perf_counter() - start
    model.eval()
    return {
        "variant": variant,
        "final_loss": round(loss.item(), 4),
        "batch_size": args.train_batch_size,
        "timed_steps": args.train_steps,
        "threads": torch.get_num_threads(),
        "s_per_step": round(seconds / args.train_steps, 4),
        "examples_per_s": round(examples / seconds, 2),
        "target_tokens_per_s": round(tokens / seconds, 1),
        "epoch_wall_clock_s": round(len(train_features) / (examples / seconds), 1),
        "train_examples": len(train_features),
    }


def measure_training_variants(model, featurizer, train_features, args: BenchmarkArguments) -> tuple[dict, dict]:
    """Every (variant, threads) pair from the same initial weights, interleaved over ``args.rounds`` rounds;
    returns the first pair's summary and all pairs' (median s/step over the rounds, each round's s/step, and the
    FLOP rate against the measured matmul rate at that thread count)."""
    device = model.device
    default_threads = torch.get_num_threads()
    thread_counts = [int(t) for t in args.threads.split(",")] if args.threads else [default_threads]
    names = [v if len(thread_counts) == 1 and not args.threads else f"{v}@{t}t" for t in thread_counts for v in args.train_variants.split(",")]
    initial = {k: v.detach().clone() for k, v in model.state_dict().items()}
    flops = count_training_flops(model, featurizer, train_features, args) if args.count_flops else None
    model.load_state_dict(initial)
    runs: dict[str, list[dict]] = {name: [] for name in names}
    matmul: dict[int, list[float]] = {t: [] for t in thread_counts}
    for round_ in range(args.rounds):
        for threads in thread_counts:
            torch.set_num_threads(threads)
            if flops is not None:
                matmul[threads].append(matmul_throughput(device))
            for variant in args.train_variants.split(","):
                name = variant if len(thread_counts) == 1 and not args.threads else f"{variant}@{threads}t"
                model.load_state_dict(initial)
                if device.type == "cuda":
                    torch.cuda.reset_peak_memory_stats(device)
                result = measure_training(model, featurizer, train_features, args, variant)
                result["peak_memory_mb"] = round(_peak_memory_mb(device), 1)
                runs[name].append(result)
                logger.info("round %d/%d %s: %.4f s/step", round_ + 1, args.rounds, name, result["s_per_step"])
    torch.set_num_threads(default_threads)
    model.load_state_dict(initial)
    summary = {}
    for name, results in runs.items():
        median = sorted(results, key=lambda r: r["s_per_step"])[len(results) // 2]  # the median round's figures
        entry = {**median, "rounds_s_per_step": [r["s_per_step"] for r in results]}
        if flops is not None:
            rate = sorted(matmul[entry["threads"]])[len(matmul[entry["threads"]]) // 2]
            achieved = flops / entry["s_per_step"]
            entry.update(flop_per_step=round(flops), achieved_gflops=round(achieved / 1e9, 2),
                         matmul_gflops=round(rate / 1e9, 2), fraction_of_matmul_peak=round(achieved / rate, 3))  # fmt: skip
        summary[name] = entry
    return summary[names[0]], summary


def measure_generation(model, featurizer, dialogues, args: BenchmarkArguments) -> dict:
    results = {"contexts": len(dialogues), "max_new_tokens": args.max_new_tokens, "batch_size": args.generation_batch_size}
    greedy = None
    for beams in (int(b) for b in args.num_beams.split(",")):
        start = time.perf_counter()
        responses, _ = generate_responses(
            model, featurizer, dialogues, args.generation_batch_size, progress=False,
            num_beams=beams, do_sample=False, max_new_tokens=args.max_new_tokens,
        )  # fmt: skip
        seconds = time.perf_counter() - start
        results[f"batched_beam{beams}"] = {"wall_clock_s": round(seconds, 2), "responses_per_s": round(len(dialogues) / seconds, 1)}
        if beams == 1:
            greedy = responses
    for precision in (v for v in args.generation_variants.split(",") if v != "fp32"):
        start = time.perf_counter()
        with autocast(precision, model.device):
            responses, _ = generate_responses(model, featurizer, dialogues, args.generation_batch_size, progress=False, num_beams=1,
                                              do_sample=False, max_new_tokens=args.max_new_tokens)  # fmt: skip
        seconds = time.perf_counter() - start
        results[f"batched_beam1_{precision}"] = {
            "wall_clock_s": round(seconds, 2), "responses_per_s": round(len(dialogues) / seconds, 1),
            "identical_to_fp32": sum(a == b for a, b in zip(responses, greedy or [], strict=False)),
        }  # fmt: skip
    if greedy is not None and args.reference_examples:
        subset = dialogues[: args.reference_examples]
        start = time.perf_counter()
        reference = decode_one_at_a_time(model, featurizer, subset, args.max_new_tokens)
        seconds = time.perf_counter() - start
        batched_rate = results["batched_beam1"]["responses_per_s"]
        results["one_at_a_time_greedy"] = {
            "dialogues": len(subset),
            "responses_per_s": round(len(subset) / seconds, 2),
            "implied_wall_clock_s": round(len(dialogues) * seconds / len(subset), 1),
            "identical_to_batched": sum(a == b for a, b in zip(reference, greedy, strict=False)),
        }
        results["batched_speedup_greedy"] = round(batched_rate / (len(subset) / seconds), 1)
    return results


def main(argv: list[str] | None = None) -> dict:
    # a fresh model takes the training script's model arguments (--conceptnet, --vad_lexicon, --atomic, --warm_start_encoder, …)
    args, model_args = HfArgumentParser((BenchmarkArguments, ModelArguments), description=__doc__).parse_args_into_dataclasses(
        args=sys.argv[1:] if argv is None else argv)
    run_provenance = provenance()
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    set_seed(args.seed)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    data = load_empathetic_dialogues(args.data_source, split_style=args.split_style, splits=("train", args.split))
    report = {**run_provenance, "device": run_provenance["hardware"], "data_source": args.data_source, "split_style": args.split_style, "split": args.split}

    if (Path(args.model) / "config.json").is_file():
        model, _, featurizer = load_checkpoint(args.model, str(device))
        report["model"] = args.model
    else:
        model_args.model_type = args.model
        model_args.model_config = model_args.model_config or _recipe_config(args.model)
        tokenizer = build_tokenizer(model_args, data["train"])
        start = time.perf_counter()
        model = build_model(model_args, tokenizer)
        featurizer = build_featurizer(model, tokenizer, model_args, DataArguments(), None)
        report["model"] = f"{args.model} (fresh, recipe sizes; built with its knowledge in {time.perf_counter() - start:.1f} s)"
        model.to(device).eval()
    model_type = model.config.model_type
    report["model_type"] = model_type
    if args.train_batch_size is None:
        args.train_batch_size = int(_recipe(model_type).get("per_device_train_batch_size", 16))
    report["parameters_m"] = round(sum(p.numel() for p in model.parameters()) / 1e6, 2)
    report["output_layer"] = list(model.get_output_embeddings().weight.shape)  # [vocabulary, hidden]: the FLOP-dominant matmul

    train = data["train"]
    if args.max_train_examples and args.max_train_examples < len(train):
        train = train.shuffle(seed=args.seed).select(range(args.max_train_examples))
    if (knowledge := featurizer.describe()) is not None:  # the model's knowledge annotation, timed without a warm cache
        with tempfile.TemporaryDirectory() as cache:
            start = time.perf_counter()
            train = featurizer.annotate(train, cache)
            seconds = time.perf_counter() - start
        report["knowledge_annotation"] = {
            "what": knowledge, "examples": len(train),
            "wall_clock_s": round(seconds, 2), "examples_per_s": round(len(train) / seconds, 1), "processes": 1,
        }  # fmt: skip
    train_features = train.map(featurizer, batched=True, remove_columns=train.column_names, desc="featurizing train").to_list()
    report["training"], variants = measure_training_variants(model, featurizer, train_features, args)
    if len(variants) > 1:
        report["training_variants"] = variants

    if args.generation:
        split = data[args.split]
        dialogues = list(split["context"])[: args.max_examples] if args.max_examples else list(split["context"])
        report["generation"] = measure_generation(model, featurizer, dialogues, args)

    output_dir = Path(args.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    stem = args.name or f"{model_type}_{device.type}"
    (output_dir / f"{stem}.json").write_text(json.dumps(report, indent=2) + "\n")
    (output_dir / f"{stem}.md").write_text(markdown_report(report))
    logger.info("wrote %s", output_dir / f"{stem}.json")
    return report


def markdown_report(report: dict) -> str:
    t, g = report["training"], report.get("generation", {})
    scope = f"Split `{report['split']}` ({report['split_style']}), {g['contexts']} contexts, {g['max_new_tokens']} new tokens; " if g else "Training only; "
    lines = [
        f"# Speed: {report['model']} on {report['device']}",
        "",
        f"{scope}{report['parameters_m']} M parameters.",
        "",
        "| measurement | value |",
        "|---|---|",
        f"| training examples/s (batch {t['batch_size']}) | {t['examples_per_s']} |",
        f"| training target tokens/s | {t['target_tokens_per_s']} |",
        f"| one epoch over {t['train_examples']} examples (s) | {t['epoch_wall_clock_s']} |",
        f"| peak memory (MB) | {t['peak_memory_mb']} |",
    ]
    for variant, v in list(report.get("training_variants", {}).items())[1:]:
        lines.append(f"| training examples/s, {variant} (× {t['variant']}) | {v['examples_per_s']} ({v['examples_per_s'] / t['examples_per_s']:.2f}×) |")
    variant_table = []
    if "training_variants" in report and "s_per_step" in t:
        variant_table += ["", "| training set-up | s/step (median) | rounds | GFLOP/step | achieved GFLOP/s | matmul GFLOP/s | fraction of matmul rate |",
                  "|---|---|---|---|---|---|---|"]  # fmt: skip
        for name, v in report["training_variants"].items():
            flop = f"{v['flop_per_step'] / 1e9:.2f} | {v['achieved_gflops']} | {v['matmul_gflops']} | {v['fraction_of_matmul_peak']}" if "flop_per_step" in v else "– | – | – | –"
            variant_table.append(f"| {name} | {v['s_per_step']} | {', '.join(map(str, v['rounds_s_per_step']))} | {flop} |")
    for key, value in g.items():
        if key.startswith("batched_beam1_"):
            lines.append(f"| generation, batched greedy, {key.removeprefix('batched_beam1_')} autocast: wall-clock (s) / responses/s "
                         f"/ identical to fp32 | {value['wall_clock_s']} / {value['responses_per_s']} / {value['identical_to_fp32']} |")  # fmt: skip
        elif key.startswith("batched_beam"):
            lines.append(f"| generation, batched, beam {key.removeprefix('batched_beam')}: wall-clock (s) / responses/s | {value['wall_clock_s']} / {value['responses_per_s']} |")
    if "one_at_a_time_greedy" in g:
        ref = g["one_at_a_time_greedy"]
        lines += [
            f"| generation, one at a time without cache (first {ref['dialogues']}): responses/s | {ref['responses_per_s']} |",
            f"| batched greedy speed-up over one at a time | {g['batched_speedup_greedy']}× |",
            f"| identical greedy responses (of {ref['dialogues']}) | {ref['identical_to_batched']} |",
        ]
    if "knowledge_annotation" in report:
        k = report["knowledge_annotation"]
        lines.append(f"| {k['what']}: {k['examples']} examples (s, examples/s) | {k['wall_clock_s']}, {k['examples_per_s']} |")
    lines += variant_table
    lines += ["", f"- command: `{report['command']}`", f"- commit: `{report['commit']}`", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
