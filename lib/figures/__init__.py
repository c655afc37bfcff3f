"""Plotly figure builders (results in, go.Figure out); no Streamlit.

The rule: lib/figures is the renderer layer. It sits above every computational layer (lib.tutorial, lib.digits,
lib.explore: they return codes and values, never prose) and writes a figure's titles, axes and legends itself in
the language it is given, through lib.text (t(key, lang)). Nothing computational imports it (.importlinter)."""
