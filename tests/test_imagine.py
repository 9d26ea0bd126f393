"""IMAGINE: featurizer (C, S_Affect without [CLS]), eq. 9, shapes, every loss term and eq. 23, each ablation's
input no longer mattering, FACE counting, generation, save/load and trust_remote_code."""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path

import pytest
import torch
from conftest import TINY_CONFIG
from transformers import AutoConfig, AutoModelForSeq2SeqLM

from empathetic_models.data import load_empathetic_dialogues
from empathetic_models.featurization import ImagineFeaturizer
from empathetic_models.knowledge.commonsense import IMAGINE_RELATIONS
from remote_code import generate_without_the_package

DIALOGUES = [["My dog died yesterday.", "Oh no, I am so sorry.", "He was fourteen."], ["I passed my driving test!"]]


def make_imagine(tokenizer, seed: int = 0, **overrides):
    config = AutoConfig.for_model("imagine", **{"vocab_size": len(tokenizer), **TINY_CONFIG, **overrides})
    torch.manual_seed(seed)
    return AutoModelForSeq2SeqLM.from_config(config).eval()


def annotated_batch(n: int = 4) -> dict[str, list]:
    """Sample ED examples with the columns the knowledge pipelines add (causes, commonsense, mechanisms)."""
    data = load_empathetic_dialogues("sample")["train"].select(range(n))
    batch = {k: data[k] for k in data.column_names}
    batch["cause_flags"] = [[int(i == len(c) - 1) for i in range(len(c))] for c in batch["context"]]
    for relation in IMAGINE_RELATIONS:
        batch[f"imagine_{relation}"] = [["happy", "to go home"] for _ in range(n)]
    batch["cm_er"], batch["cm_ip"], batch["cm_ex"] = [1, 0, 1, 0][:n], [0, 0, 1, 1][:n], [1, 1, 0, 0][:n]
    return batch


@pytest.fixture(scope="module")
def featurizer(word_tokenizer):
    return ImagineFeaturizer(word_tokenizer, inferences_per_relation=2, max_source_length=64)


@pytest.fixture(scope="module")
def resources(tmp_path_factory, tiny_cause_encoder):
    """ATOMIC tuples and ConceptNet edges (the eleven relations IMAGINE asks), as training reads them."""
    folder = tmp_path_factory.mktemp("imagine_resources")
    social = {"xReact": "sad", "xIntent": "to play", "xNeed": "a leash", "xWant": "a new dog", "xEffect": "cries", "xAttr": "caring"}
    (folder / "atomic.tsv").write_text("".join(f"PersonX loses PersonX's dog\t{r}\t{t}\n" for r, t in social.items()))
    physical = {"HasProperty": "loyal", "CapableOf": "bark", "Desires": "food", "Causes": "joy", "MotivatedByGoal": "company"}
    (folder / "cn4.tsv").write_text("head\trelation\ttail\tscore\tfreq\n" + "".join(f"dog\t{r}\t{t}\t2\t5\n" for r, t in physical.items()))
    return {"atomic": [str(folder / "atomic.tsv")], "conceptnet": str(folder / "cn4.tsv"), "commonsense_encoder": str(tiny_cause_encoder),
            "cause_detector": str(tiny_cause_encoder)}  # fmt: skip


@pytest.fixture(scope="module")
def served(word_tokenizer, resources):
    """IMAGINE's featurizer as training builds it: its cause detector and commonsense (no mechanism classifiers)."""
    from types import SimpleNamespace

    arguments = SimpleNamespace(comet=None, **resources)
    return ImagineFeaturizer.from_arguments(word_tokenizer, make_imagine(word_tokenizer, use_mechanisms=False).config, arguments,
                                            inferences_per_relation=2, max_source_length=64)  # fmt: skip


def pad(featurizer, batch) -> dict[str, torch.Tensor]:
    features = featurizer(batch)
    return featurizer.pad([{k: v[i] for k, v in features.items()} for i in range(len(batch["context"]))])


def test_featurizer_builds_causes_knowledge_rows_and_labels(featurizer, word_tokenizer):
    batch = pad(featurizer, annotated_batch())
    assert batch["knowledge_ids"].shape[:2] == (4, 4) and batch["mechanism_labels"].tolist()[0] == [1, 0, 1]
    cls = word_tokenizer.cls_token_id
    assert (batch["knowledge_ids"][:, 0, 0] != cls).all() and (batch["knowledge_ids"][:, 1:, 0] == cls).all()  # S_Affect has no [CLS]
    raw = annotated_batch()
    last = word_tokenizer.convert_ids_to_tokens(batch["cause_input_ids"][0][batch["cause_attention_mask"][0].bool()])
    assert last[0] == "[CLS]" and len(last) - 1 == len(featurizer._ids(raw["context"][0][-1]))  # C = the flagged last utterance
    raw["cause_flags"] = [[0] * len(c) for c in raw["context"]]  # no cause found → C = S
    assert torch.equal(pad(featurizer, raw)["cause_input_ids"], pad(featurizer, raw)["input_ids"])


def test_mechanism_signal_is_eq_9(word_tokenizer):
    model = make_imagine(word_tokenizer)
    encoder, d = model.model.encoder, model.config.d_model
    with torch.no_grad():
        encoder.mechanism_vectors.weight.zero_()
        encoder.mechanism_vectors.bias.copy_(torch.arange(3 * d, dtype=torch.float) / (3 * d))  # e_er, e_ip, e_ex
        encoder.mechanism_heads.copy_(torch.zeros(3, d, 2))
        encoder.mechanism_heads[:, 0, 1] = torch.tensor([10.0, 0.0, -10.0])  # P(yes) ≈ σ(10·e_i[0]) per mechanism
    out = encoder(torch.tensor([[4, 10, 11]]))
    vectors = encoder.mechanism_vectors.bias.view(3, d)
    p_yes = torch.sigmoid(torch.tensor([10.0, 0.0, -10.0]) * vectors[:, 0])
    expected = (p_yes[:, None] * vectors).sum(0)
    assert out.refined_causes.shape == (1, 3, 4 * d)  # ĤC is |L| × 4d
    assert torch.allclose(out.refined_causes[0, :, 3 * d :], expected.expand(3, d), atol=1e-6)


def test_loss_is_eq_23_over_every_term(featurizer, word_tokenizer):
    model = make_imagine(word_tokenizer).train()
    outputs = model(**pad(featurizer, annotated_batch()))
    terms = {k: float(v) for k, v in outputs.items() if k.endswith("_loss")}
    assert set(terms) == {"generation_loss", "emotion_loss", "mechanism_loss", "diversity_loss"}
    weights = {"generation_loss": 1.0, "emotion_loss": 1.0, "mechanism_loss": 1.0, "diversity_loss": 1.5}
    assert float(outputs.loss) == pytest.approx(sum(weights[k] * v for k, v in terms.items()), rel=1e-5)
    assert model.token_frequency.sum() > 0


@pytest.mark.parametrize(
    ("flag", "change"),
    [("use_knowledge", "knowledge"), ("use_causes", "cause"), ("use_mechanisms", "mechanism")],
)
def test_each_ablation_makes_its_input_irrelevant(featurizer, word_tokenizer, flag, change):
    def perturbed(batch):
        batch = copy.deepcopy(batch)
        if change == "knowledge":
            batch["imagine_HasProperty"] = [["sad", "angry"] for _ in batch["context"]]  # S_Phys
        elif change == "cause":
            batch["cause_flags"] = [[1] * len(c) for c in batch["context"]]
        else:
            batch["cm_er"] = [1 - x for x in batch["cm_er"]]
        return batch

    raw = annotated_batch()
    for enabled in (True, False):
        model = make_imagine(word_tokenizer, **{flag: enabled}, diversity_loss_weight=0.0)
        with torch.no_grad():
            before, after = (float(model(**pad(featurizer, b)).loss) for b in (raw, perturbed(raw)))
        assert (before != pytest.approx(after, abs=1e-7)) == enabled, (flag, enabled)


def test_face_counts_predictions_or_targets_and_without_counts_div_equals_gen(featurizer, word_tokenizer):
    batch = pad(featurizer, annotated_batch())
    model = make_imagine(word_tokenizer)
    with torch.no_grad():
        out = model(**batch)  # eval: no counts yet → every weight 1
    assert float(out.diversity_loss) == pytest.approx(float(out.generation_loss))
    targets = make_imagine(word_tokenizer, face_counts="targets").train()
    targets(**batch)
    labels = batch["labels"][batch["labels"].ne(-100)]
    expected = torch.bincount(labels, minlength=targets.config.vocab_size).float()
    expected[targets.config.eos_token_id] = 0
    assert torch.equal(targets.token_frequency, expected)
    assert make_imagine(word_tokenizer, diversity_loss_weight=0.0).train()(**batch).diversity_loss is None


def test_generation_batched_equals_one_at_a_time_and_input_ids_alone_work(served, word_tokenizer):
    model = make_imagine(word_tokenizer)
    batch = served.encode_dialogues(DIALOGUES, emotions=[3, 7])
    assert batch["knowledge_ids"].shape[:2] == (2, 4)  # the commonsense asked with C
    with torch.no_grad():
        together = model.generate(**batch, max_new_tokens=6)
        alone = [model.generate(**served.encode_dialogues([d], emotions=[e]), max_new_tokens=6, use_cache=False)[0]
                 for d, e in zip(DIALOGUES, [3, 7], strict=True)]  # fmt: skip
        bare = model.generate(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], max_new_tokens=4)
    for row, single in zip(together, alone, strict=True):
        assert row[: len(single)].tolist() == single.tolist()
    assert bare.shape[0] == 2


def test_served_dialogues_read_causes_of_the_perceived_emotion_and_never_fall_back_silently(served, word_tokenizer):
    from empathetic_models.inference import generate_responses, perceived_emotions

    model = make_imagine(word_tokenizer)
    emotions = perceived_emotions(model, served, DIALOGUES)
    with torch.no_grad():  # eq. 1 reads S alone: the same prediction as with the full inputs
        full = model(**served.encode_dialogues(DIALOGUES, emotions), decoder_input_ids=torch.full((2, 1), model.config.decoder_start_token_id))
    assert emotions == full.emotion_logits.argmax(-1).tolist()
    responses, predicted = generate_responses(model, served, DIALOGUES, progress=False, max_new_tokens=4)
    assert len(responses) == 2 and predicted == [model.config.id2label[e] for e in emotions]
    with pytest.raises(ValueError, match="emotion"):  # the detector reads the emotion: no silent C = S
        served.encode_dialogues(DIALOGUES)
    bare = ImagineFeaturizer(word_tokenizer, max_source_length=64)
    with pytest.raises(ValueError, match="cause detector is missing"):
        bare.encode_dialogues(DIALOGUES, emotions=[0, 0])


def test_saved_featurizer_gives_the_training_annotation_of_the_same_dialogue(served, word_tokenizer, tmp_path):
    from empathetic_models.featurization import Featurizer

    data = load_empathetic_dialogues("sample")["test"].select(range(6))
    annotated = served.annotate(data, tmp_path / "cache")  # the training-time annotation (cached Dataset.map)
    served.save_pretrained(tmp_path / "checkpoint")
    assert (tmp_path / "checkpoint" / "cause_detector" / "model.safetensors").is_file()
    loaded = Featurizer.from_pretrained(tmp_path / "checkpoint", word_tokenizer)
    assert isinstance(loaded, ImagineFeaturizer) and loaded.cause_detector.fingerprint() == served.cause_detector.fingerprint()
    raw = {k: data[k] for k in ("context", "context_roles", "emotion")}
    again = loaded.annotate_batch(raw)
    assert again["cause_flags"] == annotated["cause_flags"]
    assert all(again[f"imagine_{r}"] == annotated[f"imagine_{r}"] for r in IMAGINE_RELATIONS)
    from_training = served.encode_examples(annotated.to_dict())
    from_checkpoint = loaded.encode_examples(raw)
    assert from_training.keys() == from_checkpoint.keys() and all(torch.equal(from_training[k], from_checkpoint[k]) for k in from_training)


def test_save_load_and_trust_remote_code(served, word_tokenizer, tmp_path):
    model = make_imagine(word_tokenizer)
    model.token_frequency += 1
    folder = tmp_path / "tiny_imagine"
    model.save_pretrained(folder)
    word_tokenizer.save_pretrained(folder)
    loaded = AutoModelForSeq2SeqLM.from_pretrained(folder).eval()
    batch = served.encode_dialogues(DIALOGUES, emotions=[3, 7])
    with torch.no_grad():
        expected = model.generate(**batch, max_new_tokens=5)
        assert torch.equal(loaded.generate(**batch, max_new_tokens=5), expected)
    assert torch.equal(loaded.token_frequency, model.token_frequency)
    assert torch.equal(loaded.model.encoder.mechanism_heads, model.model.encoder.mechanism_heads)
    child = generate_without_the_package(folder, batch, tmp_path)
    with torch.no_grad():
        assert child["module"].startswith("transformers_modules") and child["tokens"] == loaded.generate(**batch).tolist()


REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"


@pytest.mark.skipif(not (SHARED / "epitome").is_dir() or not (SHARED / "reccon").is_dir(), reason="shared EPITOME / RECCON absent")
def test_no_research_only_text_is_shipped():
    """EPITOME and RECCON are research-only: no tracked file may hold their text."""
    from empathetic_models.knowledge.causes import load_reccon
    from empathetic_models.knowledge.mechanisms import load_epitome

    samples = [p for p in load_epitome(SHARED / "epitome", "er")["test"]["seeker_post"] if len(p) > 60][:5]
    samples += [u for u in load_reccon(SHARED / "reccon", splits=("test",))["test"]["target"] if len(u) > 60][:5]
    repo = REPO
    tracked = subprocess.run(["git", "ls-files"], cwd=repo, capture_output=True, text=True, check=True).stdout.split()
    for name in tracked:
        path = repo / name
        if path.is_file() and path.stat().st_size < 5_000_000:
            text = path.read_text(errors="ignore")
            assert not [sample for sample in samples if sample in text], name


def test_imagine_trains_with_its_three_kinds_of_knowledge(tmp_path, tiny_cause_encoder, resources):
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

    from empathetic_models.inference import generate_responses, load_checkpoint
    from empathetic_models.training.train import main

    classifier = tmp_path / "cm"  # a tiny 3-level classifier stands in for each EPITOME-trained one
    BertTokenizer.from_pretrained(tiny_cause_encoder).save_pretrained(classifier)
    config = BertConfig.from_pretrained(tiny_cause_encoder, num_labels=3)
    torch.manual_seed(0)
    BertForSequenceClassification(config).save_pretrained(classifier)
    out = tmp_path / "imagine"
    info = main([
        "sample", "--model_type", "imagine", "--output_dir", str(out), "--cause_detector", resources["cause_detector"],
        "--atomic", *resources["atomic"], "--conceptnet", resources["conceptnet"], "--commonsense_encoder", resources["commonsense_encoder"],
        "--er_classifier", str(classifier), "--ip_classifier", str(classifier), "--ex_classifier", str(classifier),
        "--knowledge_cache_dir", str(tmp_path / "cache"), "--model_config", '{"d_model": 32, "attention_dim": 8, "ffn_dim": 16}',
        "--max_steps", "3", "--logging_steps", "1", "--eval_strategy", "no", "--save_strategy", "no", "--load_best_model_at_end", "false",
        "--max_test_samples", "6", "--use_cpu", "true", "--per_device_train_batch_size", "4",
    ])  # fmt: skip
    assert info["global_step"] == 3 and "mechanisms: er:" in info["knowledge_source"] and "emotion causes by the detector" in info["knowledge_source"]
    logs = [h for h in json.loads((out / "trainer_state.json").read_text())["log_history"] if "loss" in h]
    assert {"generation_loss", "emotion_loss", "mechanism_loss", "diversity_loss"} <= logs[-1].keys()
    assert json.loads((out / "results" / "test_results.json").read_text())["model_type"] == "imagine"
    assert "IMAGINE" in (out / "README.md").read_text()
    assert list((tmp_path / "cache" / "causes").glob("causes-*.arrow"))  # test split annotated by the detector too
    model, _, featurizer = load_checkpoint(str(out), "cpu")  # serves with its own detector and commonsense
    responses, _ = generate_responses(model, featurizer, DIALOGUES, progress=False, max_new_tokens=3)
    assert len(responses) == 2


def test_contract_half_precision_resize_and_missing_counts(featurizer, word_tokenizer, tmp_path):
    from contract import assert_gradient_checkpointing_matches, assert_unsupported_outputs_are_refused, assert_static_cache_generates_as_the_dynamic_one, assert_missing_shared_embedding_is_reported_and_initialised, assert_return_dict_false_gives_the_tuple, assert_half_precision_loads_and_runs, assert_missing_token_frequency_loads_as_zeros, assert_resize_then_one_training_step

    batch = pad(featurizer, annotated_batch())
    assert_half_precision_loads_and_runs(make_imagine(word_tokenizer), batch, tmp_path / "half")
    assert_return_dict_false_gives_the_tuple(make_imagine(word_tokenizer), batch)
    assert_gradient_checkpointing_matches(make_imagine(word_tokenizer), batch)
    assert_unsupported_outputs_are_refused(make_imagine(word_tokenizer), batch)
    assert_static_cache_generates_as_the_dynamic_one(make_imagine(word_tokenizer), batch)
    assert_missing_shared_embedding_is_reported_and_initialised(make_imagine(word_tokenizer), batch, tmp_path / "no_embedding")
    assert_resize_then_one_training_step(make_imagine(word_tokenizer), batch)
    assert_missing_token_frequency_loads_as_zeros(make_imagine(word_tokenizer), tmp_path / "counts")
