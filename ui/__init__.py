"""Shared pieces of the Streamlit UI (app.py and pages/): page images, data frames, document management.

Modules without Streamlit (`render`, `tables`, `docs`, `examples`) hold the work and are testable alone;
`widgets` and `chat` draw with Streamlit.
"""
