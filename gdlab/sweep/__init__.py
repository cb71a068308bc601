"""gdlab sweep: grids of config variants, grouped into batched engine calls, run locally or on Ray."""
