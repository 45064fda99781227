"""Headless core of clusterdeck: data sources, checks and guided flows (no UI imports)."""
