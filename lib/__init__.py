"""Training core for the "Learning PyTorch with Examples" dashboard (no Streamlit here)."""
