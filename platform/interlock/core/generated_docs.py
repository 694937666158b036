"""Blocks of a document that code generates (the access rule table, the disclosure transition
table): the block between two marker comments is replaced, the rest of the document kept."""

from __future__ import annotations


def with_generated_block(document: str, block: str, *, begin: str, end: str) -> str:
    """`document` with the text from `begin` to `end` replaced by `block` (which carries the
    markers itself); appended if the document has no such block yet."""
    if begin in document and end in document:
        head, rest = document.split(begin, 1)
        _, tail = rest.split(end, 1)
        return f"{head}{block}{tail}"
    return f"{document.rstrip()}\n\n{block}\n"
