"""What a new project starts with: a board with four stages, and the importance and role fields."""

from __future__ import annotations

__all__ = ["COLUMNS", "FIELDS", "label"]

#: (Korean, English, colour, done?)
COLUMNS = (
    ("대기", "Pending", "#94A3B8", False),
    ("진행중", "In progress", "#3B82F6", False),
    ("검토", "Review", "#F59E0B", False),
    ("완료", "Done", "#22C55E", True),
)

#: key -> (Korean name, English name, [(value, Korean, English, colour)])
FIELDS = {
    "importance": (
        "중요도",
        "Importance",
        [
            ("urgent", "긴급", "Urgent", "#EF4444"),
            ("high", "높음", "High", "#F97316"),
            ("normal", "보통", "Normal", "#3B82F6"),
            ("low", "낮음", "Low", "#94A3B8"),
        ],
    ),
    "role": (
        "역할",
        "Role",
        [
            ("developer", "개발자", "Developer", "#8B5CF6"),
            ("planner", "기획자", "Planner", "#10B981"),
            ("designer", "디자이너", "Designer", "#EC4899"),
            ("qa", "QA", "QA", "#F59E0B"),
        ],
    ),
}


def label(korean: str, english: str, locale: str) -> str:
    return korean if locale == "ko" else english
