"""The finding a disclosure review decides on: its secret passage, its assessment, its redaction."""

from __future__ import annotations

SECRET = "SECRET-PASSAGE: the exact training recipe"


ASSESSMENT = {
    "enables": "Faster detection of induction circuits.",
    "generality": "Applies to small transformers only.",
    "novelty": "Known technique, new measurement.",
    "mitigations": "The training recipe is redacted.",
}


def redacted_body() -> str:
    """The body a redacted release publishes: the secret passage removed."""
    return "The bump coincides with the induction score.\n\nMore detail."
