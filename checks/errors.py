"""Domain errors raised by sources and checks; the UI and CLI show `title` and `message`."""

from __future__ import annotations


class SourceError(Exception):
    """A remote system could not answer as needed.

    Carries which system failed, a short title and a message a human can act on.
    Never carries a secret: callers build messages from names, not values.
    """

    def __init__(self, system: str, title: str, message: str, *, kind: str = "error") -> None:
        super().__init__(f"{system}: {title}: {message}")
        self.system = system
        """Which system failed: kubernetes, dragonfly, postgres, s3, prometheus, alertmanager, config."""
        self.title = title
        """Short headline, e.g. 'Connection refused'."""
        self.message = message
        """What happened and what to do next."""
        self.kind = kind
        """Coarse class: unreachable, timeout, auth, forbidden, notfound, error."""

    def as_dict(self) -> dict[str, str]:
        return {"system": self.system, "title": self.title, "message": self.message, "kind": self.kind}


class ConfigError(Exception):
    """The configuration file is invalid; the message names the key and the problem."""
