"""Browser-test fixtures: Debian's Chromium, launched once per test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.browser import chromium


@pytest.fixture
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched
