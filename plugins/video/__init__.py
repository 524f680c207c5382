"""The video plugin: calls on LiveKit (rooms, tokens, participants, history, recordings)."""
