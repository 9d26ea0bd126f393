"""NEC (nec.txt): backbone wrapping, knowledge attention, L_CL by hand, candidate ranks, eq. 15 re-ranking,
ablation flags, save/load and trust_remote_code on a tiny random BART."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F
from transformers import AutoModelForSeq2SeqLM, BartConfig, BartForConditionalGeneration

import empathetic_models  # noqa: F401  (registers nec)
from empathetic_models.modeling.configuration_nec import NecConfig
from empathetic_models.modeling.modeling_nec import NecForConditionalGeneration, bleu2, candidate_ranks, contrastive_loss
from remote_code import generate_without_the_package

PAD, EOS = 1, 2


def _backbone_config() -> BartConfig:
    return BartConfig(vocab_size=40, d_model=16, encoder_layers=2, decoder_layers=2, encoder_attention_heads=2, decoder_attention_heads=2,
                      encoder_ffn_dim=32, decoder_ffn_dim=32, max_position_embeddings=64, pad_token_id=PAD, bos_token_id=0,
                      eos_token_id=EOS, decoder_start_token_id=EOS, forced_eos_token_id=None, dropout=0.0)  # fmt: skip


def _model(**kwargs) -> NecForConditionalGeneration:
    torch.manual_seed(0)
    return NecForConditionalGeneration(NecConfig(backbone=_backbone_config().to_dict(), **kwargs)).eval()


def _batch(seed: int = 1) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    input_ids = torch.randint(3, 40, (2, 7), generator=g)
    input_ids[1, 5:] = PAD
    knowledge = torch.randint(3, 40, (2, 5, 4), generator=g)
    knowledge_mask = torch.ones_like(knowledge)
    knowledge_mask[1, 2:] = 0  # the second dialogue has two inferences
    labels = torch.randint(3, 40, (2, 6), generator=g)
    labels[:, -1] = EOS
    return {"input_ids": input_ids, "attention_mask": input_ids.ne(PAD).long(), "knowledge_input_ids": knowledge,
            "knowledge_attention_mask": knowledge_mask, "labels": labels}  # fmt: skip


def _inputs(batch):
    return {k: v for k, v in batch.items() if k != "labels"}


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    folder = tmp_path_factory.mktemp("nec")
    model = _model()
    with torch.no_grad():  # open the knowledge gates so that K_S matters in the round trip
        for attention in model.knowledge_attention:
            attention.gate.fill_(1.0)
    model.save_pretrained(folder)
    return folder


def test_knowledge_attention_starts_as_a_no_op_on_the_pretrained_backbone():
    model, batch = _model(), _batch()
    backbone = BartForConditionalGeneration(_backbone_config()).eval()
    backbone.load_state_dict(model.backbone.state_dict())
    with torch.no_grad():
        ours = model(**batch).logits
        plain = backbone(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=batch["labels"]).logits
    torch.testing.assert_close(ours, plain)


def test_without_knowledge_and_contrast_nec_is_the_backbone_alone():
    """CASE Table 5's "backbone fine-tuned alone" baseline: NEC with both kinds of knowledge off, L_NLL only."""
    model, batch = _model(use_entity_knowledge=False, use_social_knowledge=False), _batch()
    assert model.knowledge_encoder is None and model.knowledge_attention is None
    backbone = BartForConditionalGeneration(_backbone_config()).eval()
    backbone.load_state_dict(model.backbone.state_dict())
    inputs = {k: batch[k] for k in ("input_ids", "attention_mask")}
    with torch.no_grad():
        ours, plain = model(**inputs, labels=batch["labels"]), backbone(**inputs, labels=batch["labels"])
        assert torch.equal(model.generate(**inputs, num_beams=1, max_new_tokens=6), backbone.generate(**inputs, num_beams=1, max_new_tokens=6))
    torch.testing.assert_close(ours.logits, plain.logits)
    torch.testing.assert_close(ours.loss, plain.loss)


def test_from_backbone_copies_the_pretrained_weights_into_both_encoders(tmp_path):
    BartForConditionalGeneration(_backbone_config()).save_pretrained(tmp_path)
    model = NecForConditionalGeneration.from_backbone(str(tmp_path))
    pretrained = BartForConditionalGeneration.from_pretrained(tmp_path)
    for name, value in pretrained.model.encoder.state_dict().items():
        assert torch.equal(model.knowledge_encoder.state_dict()[name], value), name
        assert torch.equal(model.backbone.model.encoder.state_dict()[name], value), name


def test_loss_is_nll_plus_contrastive_and_gradients_reach_the_new_modules():
    model, batch = _model(contrastive=True, self_generated=2), _batch()
    assert model(**batch).contrastive_loss is None  # in eval mode the loss is L_NLL alone (validation, PPL)
    model.train()
    negatives = torch.randint(3, 40, (2, 3, 5))
    sources = torch.tensor([[0, 3, -1], [0, 0, 3]])  # D, H, padding | D, D, H
    out = model(**batch, negative_ids=negatives, negative_sources=sources)
    assert out.contrastive_loss is not None and out.contrastive_loss.item() >= 0
    torch.testing.assert_close(out.loss, out.generation_loss + out.contrastive_loss)  # eq. 9
    nll = F.cross_entropy(out.logits.transpose(1, 2), batch["labels"])
    torch.testing.assert_close(out.generation_loss, nll)  # eq. 10 (mean over tokens)
    out.loss.backward()
    assert model.projection.weight.grad.abs().sum() > 0
    assert all(a.gate.grad is not None for a in model.knowledge_attention)


def test_contrastive_loss_by_hand_on_fixed_representations():
    z_x = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    z_y = torch.tensor([[[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]],  # y+, then two negatives
                        [[1.0, 1.0], [0.0, 1.0], [5.0, 5.0]]])  # fmt: skip
    ranks = torch.tensor([[0, 1, 2], [0, 1, 2]])
    valid = torch.tensor([[True, True, True], [True, True, False]])
    s = 2**-0.5
    # row 0: max(0, s - 1 + .1) + max(0, 0 - 1 + .2); row 1: max(0, 1 - s + .1), the third is padding
    expected = (max(0, s - 1 + 0.1) + max(0, 0 - 1 + 0.2) + max(0, 1 - s + 0.1)) / 2
    assert contrastive_loss(z_x, z_y, ranks, valid, gamma=0.1).item() == pytest.approx(expected, abs=1e-6)


def test_candidate_ranks_follow_bleu2_to_the_positive():
    assert bleu2([5, 6, 7], [5, 6, 7]) == pytest.approx(1.0)
    assert bleu2([9, 9], [5, 6, 7]) == 0.0
    candidates = torch.tensor([[[5, 6, 7, 8], [9, 9, 1, 1], [5, 6, 7, 8], [5, 6, 1, 1]]])  # y+, unrelated, equal, close
    ranks = candidate_ranks(candidates, torch.ones(1, 4, dtype=torch.bool), pad_token_id=PAD)
    assert ranks.tolist() == [[0, 3, 1, 2]]


def test_disabled_negative_sources_do_not_change_the_loss():
    batch = _batch()
    torch.manual_seed(3)
    model = _model(contrastive=True, negatives=["high_frequency"]).train()  # dropout is 0: deterministic
    sources = torch.tensor([[0, 3], [0, 3]])  # a D and an H negative each
    negatives = torch.randint(3, 40, (2, 2, 5))
    other = negatives.clone()
    other[:, 0] = torch.randint(3, 40, (2, 5))  # only the (disabled) D negatives differ
    with torch.no_grad():
        a = model(**batch, negative_ids=negatives, negative_sources=sources).contrastive_loss
        b = model(**batch, negative_ids=other, negative_sources=sources).contrastive_loss
        c = model(**batch, negative_ids=negatives[:, [0, 0]], negative_sources=sources).contrastive_loss
    assert a == b and a != c  # the H negative counts, the D one does not


def test_without_social_knowledge_the_knowledge_inputs_are_irrelevant():
    model, batch = _model(use_social_knowledge=False), _batch()
    assert model.knowledge_attention is None and model.knowledge_encoder is None
    other = dict(batch, knowledge_input_ids=torch.randint(3, 40, (2, 5, 4)))
    with torch.no_grad():
        torch.testing.assert_close(model(**batch).logits, model(**other).logits)
    with_knowledge = _model()
    with torch.no_grad():
        for attention in with_knowledge.knowledge_attention:
            attention.gate.fill_(1.0)
        assert not torch.allclose(with_knowledge(**batch).logits, with_knowledge(**other).logits)


def test_reranking_picks_the_candidate_of_eq_15_and_alpha_zero_is_plain_beam_search():
    model, batch = _model(), _batch()
    inputs = _inputs(batch)
    beams = model.generate(**inputs, rerank_alpha=0.0, num_beams=4, num_return_sequences=4, max_new_tokens=6).view(2, 4, -1)
    plain = model.generate(**inputs, rerank_alpha=0.0, num_beams=4, max_new_tokens=6)
    assert torch.equal(plain, beams[:, 0])  # the LM-best beam
    encoder_outputs = model.get_encoder()(**inputs)
    z_y, log_prob, length = model.score_candidates(encoder_outputs, inputs["attention_mask"], beams[:, :, 1:])
    s_sim = F.cosine_similarity(model.represent(encoder_outputs.last_hidden_state, inputs["attention_mask"])[:, None], z_y, dim=-1)
    for alpha in (0.7, 1.0):
        expected = (alpha * s_sim + (1 - alpha) * log_prob / length).argmax(-1)
        chosen = model.generate(**inputs, rerank_alpha=alpha, num_beams=4, max_new_tokens=6)
        assert torch.equal(chosen, beams[torch.arange(2), expected])


def test_batched_generation_matches_one_dialogue_at_a_time():
    model, inputs = _model(), _inputs(_batch())
    batched = model.generate(**inputs, max_new_tokens=6)
    for i in range(2):
        length = int(inputs["attention_mask"][i].sum())
        single = {k: v[i : i + 1] for k, v in inputs.items()}
        single["input_ids"], single["attention_mask"] = single["input_ids"][:, :length], single["attention_mask"][:, :length]
        alone = model.generate(**single, max_new_tokens=6)[0]
        assert batched[i, : alone.shape[0]].tolist() == alone.tolist()


def test_save_and_load_round_trip(checkpoint):
    model = AutoModelForSeq2SeqLM.from_pretrained(checkpoint)
    assert isinstance(model, NecForConditionalGeneration) and model.generation_config.num_beams == 5
    assert model.config.alpha == 0.7 and model.generation_config.max_new_tokens == 30
    reference = NecForConditionalGeneration(NecConfig.from_pretrained(checkpoint))
    reference.load_state_dict(model.state_dict())
    assert all(torch.equal(a.gate, torch.ones(1)) for a in model.knowledge_attention)


def test_trust_remote_code_loads_nec_without_the_package(checkpoint, tmp_path):
    inputs = _inputs(_batch())
    with torch.no_grad():
        expected = AutoModelForSeq2SeqLM.from_pretrained(checkpoint).eval().generate(**inputs)  # beam 5, re-ranked
    child = generate_without_the_package(checkpoint, inputs, tmp_path)
    assert child["module"].startswith("transformers_modules") and child["tokens"] == expected.tolist()


# --- featurizer (subword backbone, commonsense columns, negatives) -----------------------------------------


@pytest.fixture(scope="module")
def annotated(tiny_bart, tmp_path_factory):
    from empathetic_models.data import load_empathetic_dialogues
    from empathetic_models.knowledge import annotate_commonsense
    from empathetic_models.knowledge.commonsense import COMET, CommonsenseKnowledge

    comet = COMET.from_pretrained(tiny_bart, device="cpu", max_new_tokens=3)
    knowledge = CommonsenseKnowledge({r: comet for r in ("xIntent", "xNeed", "xWant", "xEffect", "xReact", "ObjectUse", "AtLocation", "MadeUpOf", "HasProperty")})
    data = load_empathetic_dialogues("sample")["train"].select(range(8))
    return annotate_commonsense(data, knowledge, "nec", cache_dir=tmp_path_factory.mktemp("nec_cs"), k=3), knowledge


@pytest.fixture(scope="module")
def nec_featurizer(tiny_bart, tiny_cause_encoder, annotated):
    from transformers import AutoTokenizer

    from empathetic_models.featurization import featurizer_for
    from empathetic_models.knowledge import SentenceEncoder

    selector = SentenceEncoder.from_pretrained(tiny_cause_encoder, device="cpu")
    featurizer = featurizer_for("nec", AutoTokenizer.from_pretrained(tiny_bart), selector=selector, commonsense=annotated[1])
    from empathetic_models.data import load_empathetic_dialogues

    return featurizer.fit_negatives(load_empathetic_dialogues("sample")["train"])


def test_social_selection_keeps_the_inference_closest_to_the_context(nec_featurizer, annotated):
    data = annotated[0][:4]
    histories = [" ".join(c) for c in data["context"]]
    social = {r: data[f"nec_{r}"] for r in ("xIntent", "xNeed", "xWant", "xEffect", "xReact")}
    k_s, _ = nec_featurizer.select_knowledge(histories, social, [[] for _ in histories])
    selector = nec_featurizer.selector
    for i, history in enumerate(histories):
        for j, relation in enumerate(social):
            candidates = social[relation][i]
            scores = (selector.encode(candidates) @ selector.encode([history])[0]).tolist()
            assert k_s[i][j] == candidates[scores.index(max(scores))]  # eqs. 6-7


def test_nec_features_hold_eq_3_input_k_s_and_both_negative_kinds(nec_featurizer, annotated):
    from empathetic_models.subword_featurization import RELEVANCE_PROMPT

    data = annotated[0][:4]
    features = nec_featurizer(data)
    tokenizer = nec_featurizer.tokenizer
    with_knowledge = [i for i, row in enumerate(data["nec_entity_knowledge"]) if row]
    assert with_knowledge, "the sample should yield entity knowledge"
    prompt = tokenizer(RELEVANCE_PROMPT, add_special_tokens=False)["input_ids"]
    text = features["input_ids"][with_knowledge[0]]
    assert any(text[i : i + len(prompt)] == prompt for i in range(len(text)))  # U ⊕ [SEP] ⊕ P_r ⊕ L(K_E)
    assert all(len(row) == 5 for row in features["knowledge_input_ids"])  # one K_S inference per social relation
    for sources, negatives in zip(features["negative_sources"], features["negative_ids"], strict=True):
        assert sources == [0, 0, 0, 3, 3, 3] and len(negatives) == 6
    assert nec_featurizer(data)["negative_ids"] == features["negative_ids"]  # the same negatives every epoch
    for context, target, emotion in zip(data["context"], data["target"], data["emotion"], strict=True):
        for text, source in nec_featurizer._negatives(context, target, emotion):
            pool = nec_featurizer.high_frequency if source == 3 else [t for e, ts in nec_featurizer.emotion_responses.items() if e != str(emotion) for t in ts]
            assert text in pool  # D: a response of another emotion; H: a most frequent training response
    plain = type(nec_featurizer)(tokenizer, selector=nec_featurizer.selector, use_entity_knowledge=False)(data)
    assert plain["input_ids"][0] == tokenizer(" ".join(data["context"][0]))["input_ids"]  # w/o Entity: U alone


def test_nec_trains_and_responds_from_featurized_dialogues(tiny_bart, nec_featurizer, annotated, tmp_path):
    model = NecForConditionalGeneration.from_backbone(str(tiny_bart), contrastive=True, self_generated=2)
    columns = nec_featurizer(annotated[0][:3])
    batch = nec_featurizer.pad([{k: v[i] for k, v in columns.items()} for i in range(3)])
    model.train()
    out = model(**batch)
    assert torch.isfinite(out.loss) and out.contrastive_loss is not None
    out.loss.backward()
    model.eval()
    dialogues = [["i lost my keys today and i am so sad ."], ["my dog ate the cake !", "oh no", "i was so angry"]]
    tokens = model.generate(**nec_featurizer.encode_dialogues(dialogues), max_new_tokens=4)
    assert tokens.shape[0] == 2
    nec_featurizer.save_pretrained(tmp_path)
    from empathetic_models.subword_featurization import NecFeaturizer

    reloaded = NecFeaturizer.from_checkpoint(nec_featurizer.tokenizer, tmp_path, selector=nec_featurizer.selector, commonsense=annotated[1])
    assert reloaded.high_frequency == nec_featurizer.high_frequency and reloaded.entity_triples == 3


# --- training through empathetic_models.training.train: the NLL phase, then the contrastive phase from its checkpoint --------

from test_case import CN4, TRIPLES  # noqa: E402


@pytest.mark.skipif(not CN4.is_file(), reason="shared ConceptNet absent")
def test_nec_trains_in_two_phases_and_saves_complete_checkpoints(tiny_bart, tiny_cause_encoder, tmp_path):
    from empathetic_models.training.train import main

    atomic = tmp_path / "atomic.tsv"
    atomic.write_text("".join(f"{h}\t{r}\t{t}\n" for h, r, t in TRIPLES))
    common = ["--atomic", str(atomic), "--conceptnet", str(CN4), "--commonsense_encoder", str(tiny_cause_encoder),
              "--data_source", "sample", "--max_train_samples", "16", "--max_eval_samples", "8", "--max_test_samples", "4",
              "--per_device_train_batch_size", "4", "--max_steps", "2", "--eval_strategy", "no", "--save_strategy", "no",
              "--load_best_model_at_end", "false", "--use_cpu", "true", "--knowledge_cache_dir", str(tmp_path / "cache"),
              "--test_batch_size", "4"]  # fmt: skip
    nll = tmp_path / "nll"
    info = main(["nec", "--model_name_or_path", str(tiny_bart), "--output_dir", str(nll), "--model_config",
                 '{"self_generated": 2}', *common])  # fmt: skip
    assert info["model_type"] == "nec" and "commonsense" in info["knowledge_source"]
    assert (nll / "featurizer_config.json").is_file() and (nll / "results" / "test_results.json").is_file()
    history = json.loads((nll / "trainer_state.json").read_text())["log_history"]
    assert not any("contrastive_loss" in h for h in history)
    phase2 = tmp_path / "contrastive"
    main(["nec", "--model_name_or_path", str(nll), "--output_dir", str(phase2), "--model_config", '{"contrastive": true, "self_generated": 2}',
          "--logging_steps", "1", *common])  # fmt: skip
    history = json.loads((phase2 / "trainer_state.json").read_text())["log_history"]
    assert any("contrastive_loss" in h for h in history)
    model = AutoModelForSeq2SeqLM.from_pretrained(phase2)
    assert model.config.contrastive and model.config.self_generated == 2
    from empathetic_models.inference import generate_responses, load_checkpoint

    atomic.rename(tmp_path / "moved.tsv")  # the training resources gone: the checkpoint carries its commonsense
    model, _, featurizer = load_checkpoint(str(phase2), "cpu")  # what evaluate / generate / chat use
    assert featurizer.commonsense is not None and (phase2 / "commonsense" / "conceptnet_edges.json.gz").is_file()
    responses, emotions = generate_responses(model, featurizer, [["i lost my dog today ."]], batch_size=1, progress=False, max_new_tokens=3)
    assert len(responses) == 1 and emotions == [None]


# --- entity-knowledge scorer (SAKDP-style) -------------------------------------------------------------------


def test_relevance_labels_follow_the_code_both_ways_on_whole_words():
    from empathetic_models.knowledge.entity_scorer import is_relevant

    triple = {"entity": "dog", "relation": "AtLocation", "tail": "the park"}
    assert is_relevant("I walked my dog.", "Was it in the park?", triple)  # entity in history, tail in response
    assert is_relevant("We went to the park.", "Did your dog like it?", triple)  # the other way round
    assert not is_relevant("I walked my dog.", "Was the parking lot full?", triple)  # whole words only
    assert not is_relevant("I walked my dog.", "My dog too!", triple)  # the tail must appear somewhere


def test_scorer_pairs_keep_every_positive_and_subsample_negatives():
    import datasets

    from empathetic_models.knowledge import scorer_pairs

    facts = [{"entity": "dog", "relation": "AtLocation", "tail": t} for t in ("park", "house", "car", "zoo", "farm")]
    data = datasets.Dataset.from_dict({"context": [["I walked my dog."]] * 4, "target": ["In the park?"] * 4, "nec_entity_knowledge": [facts] * 4})
    pairs = scorer_pairs(data, negatives_per_positive=2)
    assert sum(pairs["label"]) == 4 and len(pairs) == 12 and set(pairs["fact"]) >= {"dog, AtLocation, park"}
    assert len(scorer_pairs(data, None)) == 20
    with pytest.raises(ValueError, match="annotate them first"):
        scorer_pairs(data.remove_columns("nec_entity_knowledge"))


def test_trained_entity_scorer_picks_k_e_and_travels_with_the_featurizer(nec_featurizer, annotated, tiny_cause_encoder, tmp_path):
    import datasets

    from empathetic_models.featurization import featurizer_for
    from empathetic_models.knowledge import EntityKnowledgeScorer
    from empathetic_models.training.train_entity_scorer import main

    data = annotated[0]
    folder = tmp_path / "annotated"
    datasets.DatasetDict({"train": data, "valid": data.select(range(4)), "test": data.select(range(4, 8))}).save_to_disk(str(folder))
    results = main(["--annotated", str(folder), "--encoder", str(tiny_cause_encoder), "--output_dir", str(tmp_path / "scorer"),
                    "--max_steps", "2", "--per_device_train_batch_size", "8", "--use_cpu", "true", "--report_to", "none",
                    "--save_strategy", "no", "--negatives_per_positive", "3"])  # fmt: skip
    assert set(results["metrics"]) == {"accuracy", "precision", "recall", "f1"} and results["pairs"]["test"] > 0
    assert (tmp_path / "scorer" / "results" / "entity_scorer_results.json").is_file()
    scorer = EntityKnowledgeScorer.from_pretrained(tmp_path / "scorer", device="cpu")
    nec_featurizer.scorer = scorer
    try:
        batch = data[:4]
        histories = [" ".join(c) for c in batch["context"]]
        triples = [[t for t in row if t["relation"] in ("ObjectUse", "AtLocation", "MadeUpOf", "HasProperty")] for row in batch["nec_entity_knowledge"]]
        assert sum(len(row) > 3 for row in triples) >= 2  # the scorer has a real choice to make
        social = {r: batch[f"nec_{r}"] for r in ("xIntent", "xNeed", "xWant", "xEffect", "xReact")}
        _, k_e = nec_featurizer.select_knowledge(histories, social, triples)
        for history, row, chosen in zip(histories, triples, k_e, strict=True):
            facts = [nec_featurizer.linearize(t) for t in row]
            scores = scorer.scores([history] * len(facts), facts)
            assert chosen == [facts[j] for j in scores.topk(min(3, len(facts))).indices.tolist()]
        nec_featurizer.save_pretrained(tmp_path)
        assert json.loads((tmp_path / "featurizer_config.json").read_text())["resources"]["entity_scorer"] == "entity_scorer"
        (tmp_path / "scorer").rename(tmp_path / "moved")  # the trained scorer travels inside the checkpoint
        reloaded = featurizer_for("nec", nec_featurizer.tokenizer, checkpoint=tmp_path)
        assert isinstance(reloaded.scorer, EntityKnowledgeScorer) and reloaded.commonsense.fingerprint() == annotated[1].fingerprint()
        assert torch.allclose(reloaded.scorer.scores(histories[:1], ["a fact"]), scorer.scores(histories[:1], ["a fact"]))
    finally:
        nec_featurizer.scorer = None


def test_contract_gradient_checkpointing_matches():
    from contract import assert_gradient_checkpointing_matches, assert_unsupported_outputs_are_refused

    assert_gradient_checkpointing_matches(_model(), _batch())
    assert_unsupported_outputs_are_refused(_model(), _batch())


def test_reranked_beam_search_with_return_dict_in_generate_returns_the_same_sequences():
    model, batch = _model(), _batch()
    plain = model.generate(**_inputs(batch), max_new_tokens=4, num_beams=3)
    output = model.generate(**_inputs(batch), max_new_tokens=4, num_beams=3, return_dict_in_generate=True, output_scores=True)
    assert torch.equal(output.sequences, plain)
    assert output.sequences_scores.shape == (2,) and output.beam_indices.shape[0] == 2


def test_attn_implementation_reaches_the_backbone(checkpoint):
    from transformers import AutoModelForSeq2SeqLM

    for implementation in ("eager", "sdpa"):
        model = AutoModelForSeq2SeqLM.from_pretrained(checkpoint, attn_implementation=implementation)
        assert model.config._attn_implementation == implementation
        assert model.backbone.config._attn_implementation == implementation
        assert model.backbone.get_decoder().config._attn_implementation == implementation


def test_contract_resize_then_one_training_step_and_reload(tmp_path):
    from contract import assert_resize_then_one_training_step, assert_resized_model_reloads

    model, batch = _model(), _batch()
    assert_resize_then_one_training_step(model, batch)
    assert model.knowledge_encoder.get_input_embeddings().num_embeddings == model.config.vocab_size == 47
    assert model.backbone.final_logits_bias.shape[-1] == 47
    assert_resized_model_reloads(model, tmp_path / "resized")
