"""The board plugin: projects, kanban boards, tasks, comments and attachments, with live updates."""
