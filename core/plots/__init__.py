"""Plotly figure builders: pure functions of results that return go.Figure."""
