"""Benchmarks that print figures (`uv run python -m bench.<name>`); pytest does not collect them."""
