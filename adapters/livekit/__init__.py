"""The LiveKit adapter of the MediaRooms port: a self-hosted LiveKit server or LiveKit Cloud."""
