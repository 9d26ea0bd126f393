"""NRC-VAD lexicon (Mohammad, 2018) and KEMP's emotion intensity η (kemp.txt eq. 1).

The lexicon is research/education-only: users pass their own copy of ``NRC-VAD-Lexicon.txt``
(tab-separated ``Word Valence Arousal Dominance`` with a header, scores in [0, 1]).
η's min-max normalisation is taken over the whole lexicon (min 0.0557, range 0.6348 for NRC-VAD v1), so η
spans exactly [0, 1]. KEMP's released code hard-codes min 0.06467 and range 0.607468 instead, which do not
match this lexicon's extremes.
"""

from __future__ import annotations

import math
from pathlib import Path

from .fingerprint import content_fingerprint

NEUTRAL_VAD = (0.5, 0.0, 0.5)  # KEMP's vector for words outside the lexicon


class VADLexicon:
    """``word → (valence, arousal, dominance)`` plus the emotion intensity of eq. 1."""

    def __init__(self, vad: dict[str, tuple[float, float, float]]):
        if not vad:
            raise ValueError("the VAD lexicon is empty")
        self.vad = vad
        raw = [self._raw_intensity(v, a) for v, a, _ in vad.values()]
        self.min_raw, self.max_raw = min(raw), max(raw)  # min-max() of eq. 1, over the lexicon

    @classmethod
    def from_file(cls, path: str | Path) -> VADLexicon:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"NRC-VAD lexicon not found: {path} (NRC-VAD-Lexicon.txt from saifmohammad.com)")
        vad = {}
        with open(path, encoding="utf-8") as f:
            header = f.readline().rstrip("\n").split("\t")
            if [h.lower() for h in header] != ["word", "valence", "arousal", "dominance"]:
                raise ValueError(f"{path}: expected the header 'Word Valence Arousal Dominance', got {header}")
            for number, line in enumerate(f, 2):
                fields = line.rstrip("\n").split("\t")
                if len(fields) != 4:
                    raise ValueError(f"{path}:{number}: expected 4 tab-separated fields, got {len(fields)}")
                try:
                    vad[fields[0]] = (float(fields[1]), float(fields[2]), float(fields[3]))
                except ValueError:
                    raise ValueError(f"{path}:{number}: scores must be numbers: {fields[1:]}") from None
        return cls(vad)

    @staticmethod
    def _raw_intensity(valence: float, arousal: float) -> float:
        return math.hypot(valence - 0.5, arousal / 2)  # ‖[Va(x) − 1/2, Ar(x)/2]‖₂ of eq. 1

    def fingerprint(self) -> str:
        """Identity of the lexicon's content (cache key for annotations)."""
        return content_fingerprint(sorted(self.vad.items()))

    def __contains__(self, word: str) -> bool:
        return word in self.vad

    def __len__(self) -> int:
        return len(self.vad)

    def get(self, word: str) -> tuple[float, float, float]:
        """VAD vector of ``word``; the neutral vector (0.5, 0, 0.5) when it is not in the lexicon."""
        return self.vad.get(word, NEUTRAL_VAD)

    def intensity(self, word: str) -> float:
        """η(word) of eq. 1: min-max-normalised ‖[Va − 1/2, Ar/2]‖₂; 0 for words outside the lexicon."""
        if word not in self.vad:
            return 0.0
        valence, arousal, _ = self.vad[word]
        return (self._raw_intensity(valence, arousal) - self.min_raw) / (self.max_raw - self.min_raw)
