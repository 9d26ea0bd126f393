"""Data collators for ``Trainer``: batching is the model's featurizer's job (it knows the pad ids)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from empathetic_models.featurization import WordContextFeaturizer


@dataclass
class EmpatheticDataCollator:
    """Pads featurized examples with ``featurizer.pad`` (labels padded with -100)."""

    featurizer: WordContextFeaturizer

    def __call__(self, features: list[dict]) -> dict[str, torch.Tensor]:
        return self.featurizer.pad(features)
