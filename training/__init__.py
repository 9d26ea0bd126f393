"""Training, installed as ``empathetic_models.training``: ``python -m empathetic_models.training.train RECIPE`` (or
``empathetic-models train RECIPE``) or ``accelerate launch -m empathetic_models.training.train RECIPE``."""
