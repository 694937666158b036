"""A line diff a page can colour: which lines stayed, went or came, and within a changed line
which words.

A unified diff as text (`difflib.unified_diff`) is what hashes and the API carry; a reader needs
more: the removed and added lines side by side in the flow of the text, the changed words marked,
and long unchanged stretches folded. The page colours each part with a CSS class (`diff-removed`,
`diff-added`, and `<del>`/`<ins>` for words), so the colours survive the strict CSP and the meaning
survives without colour (the +/− sign, and the elements themselves).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["same", "removed", "added", "gap"]
WORDS = re.compile(r"\s+|\w+|[^\w\s]")


@dataclass(frozen=True)
class Segment:
    """A run of text in a changed line; `changed` when it is what differs from the other side."""

    text: str
    changed: bool = False


@dataclass(frozen=True)
class DiffLine:
    """One line of the diff: `gap` stands for `folded` unchanged lines not shown."""

    kind: Kind
    segments: list[Segment] = field(default_factory=list)
    old_number: int | None = None
    new_number: int | None = None
    folded: int = 0

    @property
    def sign(self) -> str:
        return {"same": " ", "removed": "−", "added": "+", "gap": "…"}[self.kind]


@dataclass(frozen=True)
class TextDiff:
    lines: list[DiffLine]
    added: int
    removed: int

    @property
    def unchanged(self) -> bool:
        return self.added == 0 and self.removed == 0


def _word_segments(before: str, after: str) -> tuple[list[Segment], list[Segment]]:
    """The two lines cut into words, with the words that differ marked on each side."""
    old, new = WORDS.findall(before), WORDS.findall(after)
    left: list[Segment] = []
    right: list[Segment] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if i2 > i1:
            left.append(Segment("".join(old[i1:i2]), changed=op != "equal"))
        if j2 > j1:
            right.append(Segment("".join(new[j1:j2]), changed=op != "equal"))
    return left, right


def text_diff(before: str, after: str, *, context: int = 3) -> TextDiff:
    """The lines of `after` against `before`, with at most `context` unchanged lines around each
    change (the rest folded into a gap). A replaced block pairs its lines for word marks."""
    old, new = before.splitlines(), after.splitlines()
    lines: list[DiffLine] = []
    added = removed = 0
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    opcodes = matcher.get_opcodes()
    for index, (op, i1, i2, j1, j2) in enumerate(opcodes):
        if op == "equal":
            span = i2 - i1
            keep_head = 0 if index == 0 else context
            keep_tail = 0 if index == len(opcodes) - 1 else context
            if span > keep_head + keep_tail + 1:
                shown = list(range(i1, i1 + keep_head))
                tail = list(range(i2 - keep_tail, i2))
                for i in shown:
                    lines.append(DiffLine("same", [Segment(old[i])], i + 1, j1 + (i - i1) + 1))
                lines.append(DiffLine("gap", folded=span - keep_head - keep_tail))
                for i in tail:
                    lines.append(DiffLine("same", [Segment(old[i])], i + 1, j1 + (i - i1) + 1))
            else:
                for i in range(i1, i2):
                    lines.append(DiffLine("same", [Segment(old[i])], i + 1, j1 + (i - i1) + 1))
            continue
        pairs = min(i2 - i1, j2 - j1) if op == "replace" else 0
        marked = [_word_segments(old[i1 + k], new[j1 + k]) for k in range(pairs)]
        for k, i in enumerate(range(i1, i2)):
            segments = marked[k][0] if k < pairs else [Segment(old[i], changed=True)]
            lines.append(DiffLine("removed", segments, old_number=i + 1))
        for k, j in enumerate(range(j1, j2)):
            segments = marked[k][1] if k < pairs else [Segment(new[j], changed=True)]
            lines.append(DiffLine("added", segments, new_number=j + 1))
        removed += i2 - i1
        added += j2 - j1
    return TextDiff(lines, added=added, removed=removed)
