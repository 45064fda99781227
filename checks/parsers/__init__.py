"""Pure parsers for server output (no I/O, no client libraries): see `checks.parsers.dragonfly`."""

from checks.parsers.dragonfly import *  # noqa: F401,F403
from checks.parsers.dragonfly import __all__  # noqa: F401
