"""Plug-ins that let workspace servers ask the sidecar (see zenml.py)."""
