"""Knowledge resources: NRC-VAD emotion intensity (KEMP eq. 1) and the ConceptNet concept index."""

from __future__ import annotations

import gzip
import math
from pathlib import Path

import pytest

from empathetic_models.knowledge import ConceptIndex, Edge, VADLexicon

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
NRC_VAD = SHARED / "nrc_vad" / "NRC-VAD-Lexicon.txt"
CN4 = SHARED / "conceptnet" / "conceptnet4_en.tsv.gz"


@pytest.fixture
def tiny_lexicon(tmp_path):
    path = tmp_path / "vad.txt"
    path.write_text("Word\tValence\tArousal\tDominance\nnice\t0.930\t0.442\t0.650\ncalm\t0.500\t0.000\t0.500\nrage\t0.100\t1.000\t0.600\n")
    return VADLexicon.from_file(path)


def test_emotion_intensity_is_min_max_normalised_eq1(tiny_lexicon):
    # raw = ||[V - 1/2, A/2]||: nice sqrt(0.43^2 + 0.221^2), calm 0 (the min), rage sqrt(0.4^2 + 0.5^2) (the max)
    raw_nice, raw_rage = math.hypot(0.43, 0.221), math.hypot(0.4, 0.5)
    assert tiny_lexicon.intensity("calm") == 0.0 and tiny_lexicon.intensity("rage") == pytest.approx(1.0)
    assert tiny_lexicon.intensity("nice") == pytest.approx(raw_nice / raw_rage)
    assert tiny_lexicon.intensity("unknown") == 0.0 and tiny_lexicon.get("unknown") == (0.5, 0.0, 0.5)


def test_vad_lexicon_errors_name_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match="NRC-VAD lexicon not found"):
        VADLexicon.from_file(tmp_path / "none.txt")
    bad = tmp_path / "bad.txt"
    bad.write_text("word,valence\n")
    with pytest.raises(ValueError, match="expected the header"):
        VADLexicon.from_file(bad)
    bad.write_text("Word\tValence\tArousal\tDominance\nnice\t0.9\thigh\t0.6\n")
    with pytest.raises(ValueError, match="bad.txt:2: scores must be numbers"):
        VADLexicon.from_file(bad)


@pytest.mark.skipif(not NRC_VAD.is_file(), reason="shared NRC-VAD lexicon absent")
def test_real_nrc_vad_lexicon():
    lexicon = VADLexicon.from_file(NRC_VAD)
    assert len(lexicon) == 20007
    assert lexicon.get("nice") == (0.93, 0.442, 0.65)  # the paper's example vector
    values = [lexicon.intensity(w) for w in lexicon.vad]
    assert min(values) == 0.0 and max(values) == pytest.approx(1.0)
    assert lexicon.intensity("furious") > lexicon.intensity("table")


def test_conceptnet4_tsv_drops_negated_and_removed_relations_and_weights_like_divisi2(tmp_path):
    path = tmp_path / "cn4.tsv.gz"
    rows = [
        "head\trelation\ttail\tscore\tfreq",
        "Birthday\tConceptuallyRelatedTo\tParty\t3\t5",  # renamed, weight 0.5 * log2(4) = 1.0
        "birthday\tCauses\thappy\t1\t10",  # weight 1.0 * log2(2) = 1.0
        "birthday\tDesires\tsad\t1\t-5",  # negated: dropped
        "birthday\tAtLocation\thome\t2\t5",  # KEMP removes AtLocation
        "cake\tIsA\tcake\t1\t5",  # self-loop: dropped
    ]
    with gzip.open(path, "wt") as f:
        f.write("\n".join(rows) + "\n")
    index = ConceptIndex.from_file(path)
    assert index.get("birthday") == [Edge("RelatedTo", "party", 1.0), Edge("Causes", "happy", 1.0)]
    assert "cake" not in index and "ConceptNet 4" in index.source
    assert ConceptIndex.from_file(path, removed_relations=()).get("birthday")[-1] == Edge("AtLocation", "home", 0.5 * math.log2(3))


def test_conceptnet5_assertions_keep_english_edges_with_their_weight(tmp_path):
    path = tmp_path / "assertions.csv"
    path.write_text(
        '/a/[/r/Causes/,/c/en/exam/,/c/en/stress/]\t/r/Causes\t/c/en/exam/n\t/c/en/stress\t{"weight": 2.5}\n'
        '/a/[/r/IsA/,/c/fr/chien/,/c/en/dog/]\t/r/IsA\t/c/fr/chien\t/c/en/dog\t{"weight": 1.0}\n'
        '/a/[/r/Synonym/,/c/en/big/,/c/en/large/]\t/r/Synonym\t/c/en/big\t/c/en/large\t{"weight": 1.0}\n'
        '/a/[/r/HasProperty/,/c/en/ice_cream/,/c/en/cold/]\t/r/HasProperty\t/c/en/ice_cream\t/c/en/cold\t{"weight": 0.5}\n'
    )
    index = ConceptIndex.from_file(path)
    assert index.edges == {"exam": [Edge("Causes", "stress", 2.5)], "ice cream": [Edge("HasProperty", "cold", 0.5)]}


def test_concept_index_round_trip_restrict_and_errors(tmp_path):
    index = ConceptIndex({"exam": [Edge("Causes", "stress", 2.5)], "dog": [Edge("IsA", "pet", 1.0)]}, "test")
    small = index.restrict(["exam", "cat"])
    small.save(tmp_path / "concepts.json.gz")
    loaded = ConceptIndex.load(tmp_path / "concepts.json.gz")
    assert loaded.edges == {"exam": [Edge("Causes", "stress", 2.5)]} and loaded.source == "test"
    with pytest.raises(FileNotFoundError, match="ConceptNet dump not found"):
        ConceptIndex.from_file(tmp_path / "none.csv")
    (tmp_path / "x.tsv").write_text("a\tb\n")
    with pytest.raises(ValueError, match="neither a ConceptNet 5 assertions CSV nor a ConceptNet 4 TSV"):
        ConceptIndex.from_file(tmp_path / "x.tsv")


@pytest.mark.skipif(not CN4.is_file(), reason="shared ConceptNet 4 dump absent")
def test_real_conceptnet4_index():
    index = ConceptIndex.from_file(CN4)
    assert index.num_edges() == 428029  # 488,014 edges − 13,340 negated − KEMP-removed relations − self-loops
    relations = {e.relation for edges in index.edges.values() for e in edges}
    assert "RelatedTo" in relations and not relations & {"AtLocation", "MadeOf", "SymbolOf", "CreatedBy"}
    assert any(e.tail == "happy" for e in index.get("birthday"))


# ---- KEMP retrieval -------------------------------------------------------------------------------
from datasets import Dataset  # noqa: E402

from empathetic_models.knowledge import STOPWORDS, ConceptRetriever, RetrievalConfig, annotate_concepts  # noqa: E402


@pytest.fixture
def retrieval_resources(tmp_path):
    lexicon_path = tmp_path / "vad.txt"
    rows = {"joy": (0.98, 0.82), "party": (0.9, 0.8), "cake": (0.8, 0.4), "balloon": (0.7, 0.5), "table": (0.5, 0.1),
            "fear": (0.07, 0.84), "grade": (0.5, 0.5), "calm": (0.5, 0.0)}  # fmt: skip
    lexicon_path.write_text("Word\tValence\tArousal\tDominance\n" + "".join(f"{w}\t{v}\t{a}\t0.5\n" for w, (v, a) in rows.items()))
    edges = {
        "birthday": [Edge("Causes", "joy", 1.0), Edge("RelatedTo", "party", 0.5), Edge("HasA", "cake", 0.5),
                     Edge("HasA", "balloon", 0.5), Edge("HasA", "table", 0.5), Edge("RelatedTo", "calm", 0.05),
                     Edge("RelatedTo", "the", 1.0), Edge("RelatedTo", "birthday party", 1.0)],
        "exam": [Edge("Causes", "fear", 1.0), Edge("RelatedTo", "grade", 1.0), Edge("RelatedTo", "joy", 1.0)],
        "the": [Edge("RelatedTo", "table", 1.0)],
    }  # fmt: skip
    return ConceptIndex(edges, "hand-made"), VADLexicon.from_file(lexicon_path)


def test_retrieval_follows_kemp_heuristics(retrieval_resources):
    index, lexicon = retrieval_resources
    retriever = ConceptRetriever(index, lexicon, config=RetrievalConfig(concepts_per_token=3, concepts_per_dialogue=5))
    assert "the" in STOPWORDS and "the" not in retriever.top  # stop-words retrieve nothing
    # birthday: weight > 0.1 drops "calm"; stop-word and multi-word tails dropped; top-3 by eta: joy, party, cake
    assert [c for c, _ in retriever.top["birthday"]] == ["joy", "party", "cake"]
    words = ["the", "exam", "and", "my", "birthday"]
    concepts, sources, intensities = retriever.retrieve(words)
    # exam (position 1) first, by eta: joy ||(0.48, 0.41)|| = 0.631 > fear ||(-0.43, 0.42)|| = 0.601 > grade;
    # then birthday (4): joy is already present -> party, cake, until the dialogue cap of 5
    assert concepts == ["joy", "fear", "grade", "party", "cake"] and sources == [1, 1, 1, 4, 4]
    assert intensities == [lexicon.intensity(c) for c in concepts]
    assert retriever.retrieve(["joy", "birthday"])[0][:2] == ["party", "cake"]  # concepts already in the dialogue are skipped


def test_retrieval_can_be_limited_to_a_vocabulary(retrieval_resources):
    index, lexicon = retrieval_resources
    retriever = ConceptRetriever(index, lexicon, vocabulary={"cake", "table", "fear"})
    assert [c for c, _ in retriever.top["birthday"]] == ["cake", "table"]
    assert retriever.fingerprint != ConceptRetriever(index, lexicon).fingerprint


def test_annotation_is_a_cached_map_keyed_by_the_resources(retrieval_resources, tmp_path):
    index, lexicon = retrieval_resources
    data = Dataset.from_dict({"context": [["My exam is tomorrow."], ["It's my birthday!", "Happy birthday!"]]})
    first = annotate_concepts(data, ConceptRetriever(index, lexicon), cache_dir=tmp_path / "cache")
    assert first["concepts"][0] == ["joy", "fear", "grade"] and first["concept_sources"][1][0] == 3  # "it is my birthday"
    again = annotate_concepts(data, ConceptRetriever(index, lexicon), cache_dir=tmp_path / "cache")
    assert again.cache_files == first.cache_files and again["concepts"] == first["concepts"]
    changed = ConceptIndex({**index.edges, "exam": [Edge("Causes", "calm", 1.0)]}, "hand-made")
    other = annotate_concepts(data, ConceptRetriever(changed, lexicon), cache_dir=tmp_path / "cache")
    assert other.cache_files != first.cache_files and other["concepts"][0] == ["calm"]


@pytest.mark.skipif(not (CN4.is_file() and NRC_VAD.is_file()), reason="shared ConceptNet / NRC-VAD absent")
def test_real_resources_annotate_the_embedded_sample():
    from empathetic_models.data import load_empathetic_dialogues

    retriever = ConceptRetriever(ConceptIndex.from_file(CN4), VADLexicon.from_file(NRC_VAD))
    annotated = annotate_concepts(load_empathetic_dialogues("sample")["test"], retriever)
    counts = [len(c) for c in annotated["concepts"]]
    assert max(counts) <= 10 and sum(counts) / len(counts) > 5
    for concepts, sources in zip(annotated["concepts"], annotated["concept_sources"]):
        assert len(concepts) == len(set(concepts)) and sources == sorted(sources)


@pytest.mark.skipif(not (CN4.is_file() and NRC_VAD.is_file()), reason="shared ConceptNet / NRC-VAD absent")
def test_annotate_concepts_command_writes_dataset_and_statistics(tmp_path):
    import json

    from datasets import load_from_disk

    from empathetic_models.cli import main

    out = tmp_path / "out"
    code = main(["annotate-concepts", "--conceptnet", str(CN4), "--vad-lexicon", str(NRC_VAD), "--knowledge-cache-dir", str(tmp_path / "cache"),
                 "--output-dir", str(out)])  # fmt: skip
    assert code == 0
    stats = json.loads((out / "concept_stats.json").read_text())
    assert stats["splits"]["train"]["examples"] == 411 and stats["commit"] and "ConceptNet 4" in stats["concept_source"]
    annotated = load_from_disk(str(out / "dataset"))
    assert {"concepts", "concept_sources", "concept_intensities"} <= set(annotated["test"].column_names)
    mean = sum(map(len, annotated["test"]["concepts"])) / len(annotated["test"])
    assert mean == pytest.approx(stats["splits"]["test"]["mean_concepts_per_dialogue"], abs=1e-3)
