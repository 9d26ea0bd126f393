"""Batched inference shared by the CLI, the pipeline and evaluation: load a checkpoint, generate
responses with predicted emotions, score references (per-example NLL for PPL), evaluate on ED; the jobs
behind ``empathetic-models evaluate --model``, ``generate`` and ``chat``."""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import datasets
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm
from transformers import AutoModelForSeq2SeqLM, AutoTokenizer, PreTrainedModel

from . import MODEL_TYPES
from .checkpoints import check_checkpoint_folder
from .data import describe_split, load_empathetic_dialogues, read_dialogues_jsonl, validate_dialogue
from .evaluation import METRIC_VERSION, compute_text_metrics, emotion_accuracy, perplexity, write_results
from .featurization import Featurizer
from .generation import generate_with_emotion

logger = logging.getLogger(__name__)


def load_checkpoint(path: str | Path, device: str | None = None, **featurizer_kwargs):
    """(model, tokenizer, featurizer) from a checkpoint folder or hub id; a clear error for a foreign model and for a
    damaged or mismatched folder (:func:`~empathetic_models.checkpoints.check_checkpoint_folder`)."""
    check_checkpoint_folder(path)
    model = AutoModelForSeq2SeqLM.from_pretrained(path)
    if model.config.model_type not in MODEL_TYPES:
        raise ValueError(
            f"{path} holds a {model.config.model_type!r} model; empathetic-models serves {sorted(MODEL_TYPES)}"
        )
    tokenizer = AutoTokenizer.from_pretrained(path)
    if len(tokenizer) != model.config.vocab_size:
        raise ValueError(f"{path}: tokenizer has {len(tokenizer)} tokens but the model expects {model.config.vocab_size}")
    model.to(device or ("cuda" if torch.cuda.is_available() else "cpu")).eval()
    featurizer_kwargs.setdefault("max_source_length", min(512, model.config.max_position_embeddings))
    return model, tokenizer, Featurizer.from_pretrained(path, tokenizer, **featurizer_kwargs)


def warn_truncated(featurizer, dialogues: Sequence[Sequence[str]], numbered: bool = True) -> list[int]:
    """Log one warning naming the dialogues (numbered from 1; ``numbered=False``: one dialogue whose position is not
    known, e.g. streamed) whose history is longer than the model reads (the featurizer keeps the most recent tokens and
    drops the oldest); returns their indices."""
    limit = getattr(featurizer, "max_words", None) or getattr(featurizer, "max_source_length", None)
    if not limit or not dialogues:
        return []
    pieces = featurizer.tokenizer([u for d in dialogues for u in d], add_special_tokens=False)["input_ids"]
    totals, start = [], 0
    for dialogue in dialogues:
        totals.append(sum(len(ids) for ids in pieces[start : start + len(dialogue)]))
        start += len(dialogue)
    long = [i for i, total in enumerate(totals) if total + 1 > limit]  # + the leading [CLS] / BOS
    if long and not numbered:
        logger.warning("a dialogue history of %d tokens is longer than the %d tokens the model reads; the oldest tokens are "
                       "dropped and the most recent kept (max_source_length)", totals[long[0]], limit)  # fmt: skip
    elif long:
        shown = ", ".join(f"{i + 1} ({totals[i]} tokens)" for i in long[:5]) + (f" and {len(long) - 5} more" if len(long) > 5 else "")
        logger.warning("%d dialogue history(ies) longer than the %d tokens the model reads: dialogue %s; the oldest "
                       "tokens are dropped and the most recent kept (max_source_length)", len(long), limit, shown)  # fmt: skip
    return long


def _batches(order: list[int], batch_size: int):
    for start in range(0, len(order), batch_size):
        yield order[start : start + batch_size]


@torch.inference_mode()
def perceived_emotions(model: PreTrainedModel, featurizer, dialogues: Sequence[Sequence[str]]) -> list[int]:
    """The emotion label ids the model's encoder predicts for dialogues, for featurizers whose annotation reads the
    emotion (IMAGINE's causes, imagine.txt §3.1.2): one forward pass on :meth:`~Featurizer.perception_inputs`."""
    inputs = {k: v.to(model.device) for k, v in featurizer.perception_inputs(dialogues).items()}
    start = torch.full((len(dialogues), 1), model.config.decoder_start_token_id, device=model.device)
    return model(**inputs, decoder_input_ids=start, use_cache=False).emotion_logits.argmax(-1).tolist()


@torch.inference_mode()
def generate_responses(
    model: PreTrainedModel,
    featurizer,
    dialogues: Sequence[Sequence[str]],
    batch_size: int = 64,
    progress: bool = True,
    examples: dict[str, list] | None = None,
    **generate_kwargs,
) -> tuple[list[str], list[str | None]]:
    """Responses and predicted emotion labels for user dialogues (each a list of utterances, last = speaker).

    Dialogues are validated, sorted by length and generated in batches with the model's generation config
    (``generate_kwargs`` override it). ``examples``: the annotated columns of the same dialogues (an ED split
    after :meth:`~Featurizer.annotate`), used as they are; otherwise the featurizer annotates each batch.
    """
    dialogues = [validate_dialogue(d) for d in dialogues]
    warn_truncated(featurizer, dialogues)
    lengths = [sum(len(u) for u in d) for d in dialogues]
    order = sorted(range(len(dialogues)), key=lengths.__getitem__)
    responses: list[str] = [""] * len(dialogues)
    emotions: list[str | None] = [None] * len(dialogues)
    id2label = model.config.id2label
    for index in tqdm(list(_batches(order, batch_size)), desc="generating", disable=not progress):
        if examples is not None:
            inputs = featurizer.encode_examples({k: [column[i] for i in index] for k, column in examples.items()})
        else:
            batch = [dialogues[i] for i in index]
            inputs = featurizer.encode_dialogues(batch, perceived_emotions(model, featurizer, batch) if featurizer.needs_emotion else None)
        inputs = {k: v.to(model.device) for k, v in inputs.items()}
        sequences, emotion_logits = generate_with_emotion(model, inputs, **generate_kwargs)
        texts = featurizer.tokenizer.batch_decode(sequences, skip_special_tokens=True)
        for j, i in enumerate(index):
            responses[i] = texts[j].strip()
            if emotion_logits is not None:
                emotions[i] = id2label[int(emotion_logits[j].argmax())]
    return responses, emotions


@torch.inference_mode()
def score_references(model: PreTrainedModel, featurizer, dataset: datasets.Dataset, batch_size: int = 64, progress: bool = True):
    """Per-example mean target-token NLL (teacher forcing, PAD ignored, no smoothing) and predicted emotion ids."""
    features = dataset.map(featurizer, batched=True, remove_columns=dataset.column_names, desc="featurizing").to_list()
    order = sorted(range(len(features)), key=lambda i: len(features[i]["input_ids"]))
    nlls, predicted = [0.0] * len(features), [-1] * len(features)
    for index in tqdm(list(_batches(order, batch_size)), desc="scoring", disable=not progress):
        batch = {k: v.to(model.device) for k, v in featurizer.pad([features[i] for i in index]).items()}
        labels = batch.pop("labels")
        batch.pop("emotion_labels", None)
        out = model(**batch, labels=labels)
        token_nll = F.cross_entropy(out.logits.float().transpose(1, 2), labels, reduction="none")  # (B, T)
        mask = labels.ne(-100)
        example_nll = (token_nll * mask).sum(1) / mask.sum(1)
        for j, i in enumerate(index):
            nlls[i] = float(example_nll[j])
            if out.emotion_logits is not None:
                predicted[i] = int(out.emotion_logits[j].argmax())
    return nlls, predicted


def evaluate_model(
    model: PreTrainedModel,
    featurizer,
    dataset: datasets.Dataset,
    batch_size: int = 64,
    model_name_or_path: str = "",
    progress: bool = True,
    cache_dir: str | Path | None = None,
    **generate_kwargs,
) -> tuple[dict, list[dict]]:
    """Score and generate on an ED split: (results dict as in ``evaluation``'s schema, per-example rows). The split
    gets the model's knowledge as training did (:meth:`~Featurizer.annotate`, cached under ``cache_dir``)."""
    annotated = featurizer.annotate(dataset, cache_dir)
    nlls, predicted = score_references(model, featurizer, annotated, batch_size, progress)
    start = time.perf_counter()
    responses, _ = generate_responses(model, featurizer, list(dataset["context"]), batch_size, progress, examples=annotated.to_dict(), **generate_kwargs)
    generate_seconds = time.perf_counter() - start
    metrics = {"ppl": perplexity(nlls), **compute_text_metrics(responses, list(dataset["target"]))}
    if predicted[0] >= 0:
        metrics["emotion_accuracy"] = emotion_accuracy(predicted, list(dataset["emotion"]))
    generation_config = model.generation_config.to_diff_dict() | generate_kwargs
    decoding = {k: generation_config.get(k) for k in ("max_new_tokens", "num_beams", "do_sample", "top_k", "top_p")}
    decoding["strategy"] = "beam" if (decoding["num_beams"] or 1) > 1 else ("sampling" if decoding["do_sample"] else "greedy")
    results = {
        "model_type": model.config.model_type,
        "model_name_or_path": model_name_or_path,
        "dataset": "empathetic_dialogues",
        "split_style": describe_split(dataset),
        "split": str(dataset.split),
        "num_examples": len(dataset),
        "decoding": decoding,
        "metric_version": METRIC_VERSION,
        "metrics": metrics,
        "generate_wall_clock_s": round(generate_seconds, 2),
        "empty_responses": sum(not r for r in responses),  # a model that ends every response at once shows here
    }
    label_names = dataset.features["emotion"].names
    rows = [
        {
            "conv_id": ex["conv_id"], "turn": ex["turn"], "context": ex["context"], "reference": ex["target"],
            "prediction": response, "emotion": label_names[ex["emotion"]],
            "predicted_emotion": model.config.id2label[p] if p >= 0 else None, "nll": nll,
        }  # fmt: skip
        for ex, response, p, nll in zip(dataset, responses, predicted, nlls, strict=True)
    ]
    return results, rows


def evaluate_checkpoint_on_ed(
    model_name_or_path: str,
    output_dir: str | Path,
    data_source: str = "sample",
    split: str = "test",
    split_style: str = "full",
    max_examples: int | None = None,
    batch_size: int = 64,
    device: str | None = None,
    **generate_kwargs,
) -> tuple[dict, Path, Path]:
    """``empathetic-models evaluate --model``: score and generate on an ED split (the first ``max_examples``), write
    ``OUTPUT_DIR/<split>_generations.jsonl`` and ``<split>_results.json`` / ``.md``; (results, JSON path, Markdown path)."""
    model, _, featurizer = load_checkpoint(model_name_or_path, device)
    dataset = load_empathetic_dialogues(data_source, split_style=split_style, splits=split)[split]
    if max_examples:
        dataset = dataset.select(range(min(max_examples, len(dataset))))
    results, rows = evaluate_model(model, featurizer, dataset, batch_size, model_name_or_path, **generate_kwargs)
    results["data_source"] = data_source
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    with open(output_dir / f"{split}_generations.jsonl", "w") as f:
        f.writelines(json.dumps(row) + "\n" for row in rows)
    json_path, md_path = write_results(results, output_dir, name=f"{split}_results")
    return results, json_path, md_path


def respond_to_file(
    model_name_or_path: str,
    input_path: str | Path,
    output_path: str | Path,
    batch_size: int = 64,
    device: str | None = None,
    **generate_kwargs,
) -> int:
    """``empathetic-models generate``: respond to every dialogue of a JSONL file (:func:`~empathetic_models.data.read_dialogues_jsonl`,
    checked before the model loads); each output line repeats its input record with ``response`` and
    ``predicted_emotion``. Returns the number of responses written."""
    records, dialogues = read_dialogues_jsonl(input_path)
    model, _, featurizer = load_checkpoint(model_name_or_path, device)
    responses, emotions = generate_responses(model, featurizer, dialogues, batch_size, **generate_kwargs)
    output = Path(output_path)
    output.parent.mkdir(parents=True, exist_ok=True)
    with open(output, "w") as f:
        for record, response, emotion in zip(records, responses, emotions, strict=True):
            f.write(json.dumps({**record, "response": response, "predicted_emotion": emotion}) + "\n")
    return len(responses)


def chat(
    model_name_or_path: str,
    device: str | None = None,
    lines: Iterable[str] | None = None,
    echo: Callable[[str], None] | None = None,
    **generate_kwargs,
) -> None:
    """``empathetic-models chat``: a conversation with a checkpoint, one reply per message, each shown with the
    predicted emotion. ``lines`` default to standard input (prompted with ``you> `` on a terminal); ``/reset``
    starts a new conversation, ``/quit`` or the end of input ends it. A message after an empty reply continues the
    speaker's turn, so the history never holds an empty utterance. ``echo`` (default: print, flushed) shows the replies."""
    echo = echo or (lambda text: print(text, flush=True))
    model, _, featurizer = load_checkpoint(model_name_or_path, device)
    print("Type a message (/reset starts a new conversation, /quit or Ctrl-D ends).")
    if lines is None:
        lines = sys.stdin if not sys.stdin.isatty() else iter(lambda: input("you> "), None)
    history: list[str] = []
    for line in lines:
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
        (response,), (emotion,) = generate_responses(model, featurizer, [history], progress=False, **generate_kwargs)
        if response:
            history.append(response)
            echo(f"bot [{emotion or 'no emotion head'}]> {response}")
        else:
            echo(f"bot [{emotion or 'no emotion head'}]> (no reply: the model ended its response at once; say more)")
