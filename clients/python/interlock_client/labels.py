"""TLP 2.0 labels as people write them (`amber`, `TLP:AMBER`, `TLP:AMBER+STRICT`) and as the API
takes them (`amber`, `amber_strict`).

The API speaks the short lower-case values; people copy labels from documents, where they read
`TLP:AMBER+STRICT`. Both are accepted everywhere a label is given, and nothing else: a misspelt
label is refused here, before anything is sent, rather than guessed.
"""

from __future__ import annotations

LABELS = ("red", "amber_strict", "amber", "green", "clear")
DISPLAY = {
    "red": "TLP:RED",
    "amber_strict": "TLP:AMBER+STRICT",
    "amber": "TLP:AMBER",
    "green": "TLP:GREEN",
    "clear": "TLP:CLEAR",
}


def tlp_label(text: str) -> str:
    """The API's value of a label written as `amber`, `AMBER`, `TLP:AMBER`, `amber+strict`,
    `amber_strict` or `TLP:AMBER+STRICT`; ValueError naming the choices otherwise."""
    value = text.strip().lower()
    if value.startswith("tlp:"):
        value = value[len("tlp:") :]
    value = value.replace("+", "_").replace("-", "_")
    if value not in LABELS:
        choices = ", ".join(DISPLAY[label] for label in LABELS)
        raise ValueError(f"unknown TLP label {text!r}: one of {choices} (with or without 'TLP:')")
    return value
