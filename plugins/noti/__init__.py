"""The noti plugin: notifications from the events of every plugin, in the app, pushed and mailed."""
