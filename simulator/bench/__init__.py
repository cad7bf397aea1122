"""Benchmarks run by ``leosim bench NAME``: each measures its own baseline in the same run."""
