"""The bucket layout every plugin shares, so one bucket holds all of a deployment's objects.

========================================  ==================================================
``profiles/{userId}/...``                 avatars and other profile pictures (user plugin)
``boards/{boardId}/attachments/...``      task and comment attachments (board plugin)
``storage/{workspaceId}/{folderId}/{fileId}``  drive files (storage plugin)
``video/{roomId}/...``                    recordings of a room (video plugin)
========================================  ==================================================
"""

from __future__ import annotations

__all__ = ["board_attachment_key", "profile_key", "storage_file_key", "video_key"]


def _part(value: object, what: str) -> str:
    text = str(value)
    if not text or "/" in text or text in (".", ".."):
        raise ValueError(f"{what} must be a non-empty key segment without '/', not {text!r}.")
    return text


def profile_key(user_id: object, name: str) -> str:
    return f"profiles/{_part(user_id, 'user_id')}/{_part(name, 'name')}"


def board_attachment_key(board_id: object, name: str) -> str:
    return f"boards/{_part(board_id, 'board_id')}/attachments/{_part(name, 'name')}"


def storage_file_key(workspace_id: object, folder_id: object, file_id: object) -> str:
    return (
        f"storage/{_part(workspace_id, 'workspace_id')}/{_part(folder_id, 'folder_id')}/"
        f"{_part(file_id, 'file_id')}"
    )


def video_key(room_id: object, name: str) -> str:
    return f"video/{_part(room_id, 'room_id')}/{_part(name, 'name')}"
