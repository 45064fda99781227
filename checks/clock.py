"""The one "now" of the checks: wall-clock time, or a frozen instant while capturing or replaying a bundle.

Every age the flows and panes show ("changed 3h ago", "firing for 5m", "expired") is computed against
`now()`. `clusterdeck capture` freezes it at the capture's start so every response in the bundle is judged
at one instant; replaying freezes it at the bundle's capture time, so a replay gives the same findings
as the capture whenever it runs.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

_lock = threading.Lock()
_frozen: datetime | None = None


def now() -> datetime:
    """The current time (UTC, aware), or the frozen instant."""
    frozen = _frozen
    return frozen if frozen is not None else datetime.now(UTC)


def freeze(at: datetime | None) -> None:
    """Freeze `now()` at `at` (aware; naive is taken as UTC); None unfreezes."""
    global _frozen
    if at is not None and at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    with _lock:
        _frozen = at


def frozen() -> datetime | None:
    """The frozen instant, None when the clock runs."""
    return _frozen
