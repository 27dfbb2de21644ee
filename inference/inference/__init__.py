"""Inference service: serves the registered models of the platform over HTTP."""
