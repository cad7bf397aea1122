"""Experiments: snapshot Monte-Carlo drops, parameter sweeps and the set-ups of the papers' figures."""
