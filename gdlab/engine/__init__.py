"""One trainer for K >= 1 same-shaped models: `gdlab train` is a sweep of one."""
