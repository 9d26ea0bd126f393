"""Model code: configurations and ``PreTrainedModel`` classes (installed as ``empathetic_models.modeling``).

Files here import only torch, transformers and each other (same-folder relative imports), because
``save_pretrained`` copies them next to the weights for ``trust_remote_code`` loading.
"""
