"""Benchmarks that print their numbers (run from the repository root: python bench/<name>.py), and
bench.streamlit_client, the light Streamlit client that bench/load.py and tests/test_serve.py share."""
