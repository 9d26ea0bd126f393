"""empathetic-models: HuggingFace-native empathetic response generation models.

Importing the package registers every architecture with the Auto classes (``AutoConfig``, ``AutoModel``,
``AutoModelForSeq2SeqLM``) and marks the classes so that ``save_pretrained`` writes ``auto_map`` and copies
the model code next to the weights (``trust_remote_code`` loading without this package). It also registers
the ``empathetic-response`` pipeline task.
"""

from transformers import AutoConfig, AutoModel, AutoModelForSeq2SeqLM

from .modeling.configuration_case import CaseConfig
from .modeling.configuration_case_blenderbot import CaseBlenderbotConfig
from .modeling.configuration_emocause import EmoCauseConfig
from .modeling.configuration_empathetic_transformer import EmpatheticTransformerConfig
from .modeling.configuration_imagine import ImagineConfig
from .modeling.configuration_kemp import KempConfig
from .modeling.configuration_nec import NecConfig
from .modeling.modeling_empathetic_transformer import (
    EmpatheticTransformerForConditionalGeneration,
    EmpatheticTransformerModel,
)
from .modeling.modeling_case import CaseForConditionalGeneration, CaseModel
from .modeling.modeling_case_blenderbot import CaseBlenderbotForConditionalGeneration
from .modeling.modeling_emocause import EmoCauseForConditionalGeneration, EmoCauseModel
from .modeling.modeling_imagine import ImagineForConditionalGeneration, ImagineModel
from .modeling.modeling_kemp import KempForConditionalGeneration, KempModel
from .modeling.modeling_nec import NecForConditionalGeneration

__version__ = "0.1.0"

# model_type → (config, bare model, model with LM head): the one place where a name becomes a class.
ARCHITECTURES = {
    "empathetic_transformer": (
        EmpatheticTransformerConfig,
        EmpatheticTransformerModel,
        EmpatheticTransformerForConditionalGeneration,
    ),
    "kemp": (KempConfig, KempModel, KempForConditionalGeneration),
    "emocause": (EmoCauseConfig, EmoCauseModel, EmoCauseForConditionalGeneration),
    "case": (CaseConfig, CaseModel, CaseForConditionalGeneration),
    "imagine": (ImagineConfig, ImagineModel, ImagineForConditionalGeneration),
}

for _model_type, (_config, _base, _lm) in ARCHITECTURES.items():
    AutoConfig.register(_model_type, _config, exist_ok=True)
    AutoModel.register(_config, _base, exist_ok=True)
    AutoModelForSeq2SeqLM.register(_config, _lm, exist_ok=True)
    _config.register_for_auto_class()
    _base.register_for_auto_class("AutoModel")
    _lm.register_for_auto_class("AutoModelForSeq2SeqLM")

# models around a pretrained seq2seq backbone: config → model with LM head (no bare AutoModel of their own)
BACKBONE_ARCHITECTURES = {
    "nec": (NecConfig, NecForConditionalGeneration),
    "case_blenderbot": (CaseBlenderbotConfig, CaseBlenderbotForConditionalGeneration),
}
for _model_type, (_config, _lm) in BACKBONE_ARCHITECTURES.items():
    AutoConfig.register(_model_type, _config, exist_ok=True)
    AutoModelForSeq2SeqLM.register(_config, _lm, exist_ok=True)
    _config.register_for_auto_class()
    _lm.register_for_auto_class("AutoModelForSeq2SeqLM")

# every model_type the package trains and serves
MODEL_TYPES = (*ARCHITECTURES, *BACKBONE_ARCHITECTURES)

from . import pipelines  # noqa: E402, F401  (registers the "empathetic-response" pipeline task)

__all__ = [
    "ARCHITECTURES",
    "BACKBONE_ARCHITECTURES",
    "CaseBlenderbotConfig",
    "CaseBlenderbotForConditionalGeneration",
    "CaseConfig",
    "CaseForConditionalGeneration",
    "CaseModel",
    "EmoCauseConfig",
    "EmoCauseForConditionalGeneration",
    "EmoCauseModel",
    "EmpatheticTransformerConfig",
    "EmpatheticTransformerForConditionalGeneration",
    "EmpatheticTransformerModel",
    "ImagineConfig",
    "ImagineForConditionalGeneration",
    "ImagineModel",
    "KempConfig",
    "KempForConditionalGeneration",
    "KempModel",
    "MODEL_TYPES",
    "NecConfig",
    "NecForConditionalGeneration",
]
