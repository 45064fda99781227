"""`make bench`: the performance benchmark of clusterdeck (see bench/run.py)."""
