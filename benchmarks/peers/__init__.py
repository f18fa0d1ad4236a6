"""Peer systems run against the same model for the benchmark report."""
