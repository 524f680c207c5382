"""Wealist's built-in adapters, registered through the ``wealist.adapters`` entry points."""
