"""Toy plugins: small, complete plugins the host's tests load by import path or pass to ``create_app``."""
