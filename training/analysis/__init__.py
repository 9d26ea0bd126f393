"""Analysis scripts behind published results (run as ``python -m training.analysis.<name>``); the results folders hold data only."""
