"""Streamlit pieces several screens share."""
