"""Analysis scripts behind published results (run as ``python -m empathetic_models.training.analysis.<name>``); the results folders hold data only."""
