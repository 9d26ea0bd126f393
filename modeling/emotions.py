"""The 32 EmpatheticDialogues emotion labels in the fixed order every config stores as ``id2label``.

The order is MoEL's ``emo_map``, which MoEL, MIME, EmpDG, KEMP, CEM and CASE share.
"""

EMOTION_LABELS: tuple[str, ...] = (
    "surprised", "excited", "annoyed", "proud", "angry", "sad", "grateful", "lonely",
    "impressed", "afraid", "disgusted", "confident", "terrified", "hopeful", "anxious", "disappointed",
    "joyful", "prepared", "guilty", "furious", "nostalgic", "jealous", "anticipating", "embarrassed",
    "content", "devastated", "sentimental", "caring", "trusting", "ashamed", "apprehensive", "faithful",
)  # fmt: skip


def emotion_id2label() -> dict[int, str]:
    """``{0: "surprised", ...}`` for ``PretrainedConfig.id2label``."""
    return dict(enumerate(EMOTION_LABELS))
