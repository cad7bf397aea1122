"""Cooperation: precoders, closed-form rates, clustering and power allocation, RSAP selection, schemes."""
