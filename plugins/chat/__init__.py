"""The chat plugin: direct messages, groups and project channels, in real time."""
