"""The storage plugin: a shared drive per workspace (folders, files, versions, trash, sharing)."""
