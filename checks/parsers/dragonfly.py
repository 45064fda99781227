"""Everything parsed from a Dragonfly (or Redis 7) server, in one import.

`from checks.parsers.dragonfly import parse_acl_list, parse_info, …`
"""

from __future__ import annotations

from checks.parsers.acl import (AclListing, AclUser, ParseProblem, acl_user_from_getuser, hashes_equal,
                                parse_acl_file, parse_acl_list, password_matches)
from checks.parsers.acl_categories import CATEGORIES, DANGEROUS, categories_of
from checks.parsers.acl_log import AclLogEntry, normalise_epoch, parse_acl_log, parse_client_info
from checks.parsers.acl_rules import (AclDiff, AclUserDiff, CommandDecision, channel_allowed,
                                      command_allowed, command_decision, diff_acl, glob_match, key_allowed)
from checks.parsers.info import ServerInfo, parse_info
from checks.parsers.redis_errors import RedisErrorInfo, classify_redis_error
from checks.parsers.slowlog import SlowlogEntry, parse_slowlog, redact_command_args

__all__ = [
    "AclDiff", "AclListing", "AclLogEntry", "AclUser", "AclUserDiff", "CATEGORIES", "CommandDecision",
    "DANGEROUS", "ParseProblem", "acl_user_from_getuser", "RedisErrorInfo", "ServerInfo", "SlowlogEntry", "categories_of",
    "channel_allowed", "classify_redis_error", "command_allowed", "command_decision", "diff_acl",
    "glob_match", "hashes_equal", "key_allowed", "normalise_epoch", "parse_acl_file", "parse_acl_list",
    "parse_acl_log", "parse_client_info", "parse_info", "parse_slowlog", "password_matches",
    "redact_command_args",
]
