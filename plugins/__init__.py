"""Wealist's built-in plugins, registered through the ``wealist.plugins`` entry points."""
