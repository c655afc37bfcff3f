"""Placeholder frame; the dashboard's pages come next."""
import streamlit as st

st.set_page_config(page_title="Learning PyTorch with Examples", layout="wide")
st.title("Learning PyTorch with Examples")
