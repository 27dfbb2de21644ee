"""Streamlit front end of the platform."""
