"""Plotly figure builders (results in, go.Figure out); no Streamlit."""
