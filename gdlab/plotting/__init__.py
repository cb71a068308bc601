"""Plots and listings of finished runs and sweeps, from their CSV/JSON/YAML files only (never torch).

Modules import pandas at load but matplotlib only inside functions; the CLI imports them lazily.
"""
