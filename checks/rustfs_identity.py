"""What the admin keys can see of RustFS identity (`IamSnapshot`), whichever API read it: the RustFS admin API
(checks.rustfs_iam) or the AWS IAM API fallback (checks.rustfs_iam_api)."""

from __future__ import annotations

from dataclasses import dataclass

from checks.sources.rustfs_admin import RustfsGroup, RustfsPolicy, RustfsUser

SOURCE_ADMIN = "RustFS admin API"
SOURCE_IAM = "IAM API (fallback: the endpoint has no RustFS admin API)"
IAM_LIMITS = ("the IAM API has no user status: users show as enabled unless all their access keys are inactive",
              "groups have no status in the IAM API")


@dataclass(frozen=True)
class AccessKeyInfo:
    """One access key and the user it belongs to."""

    access_key: str
    """Access key id (safe to show)."""
    user: str
    """Owning user (the parent user for a RustFS service account)."""
    status: str
    """enabled | disabled (IAM: Active → enabled)."""
    kind: str = "user"
    """user (the key is the user itself, RustFS) | service-account | iam-key."""


@dataclass(frozen=True)
class IamSnapshot:
    """Everything the admin keys can see of RustFS identity."""

    source: str
    """Which API answered (SOURCE_ADMIN or SOURCE_IAM)."""
    users: tuple[RustfsUser, ...] = ()
    """Users with status, direct policies and groups."""
    groups: tuple[RustfsGroup, ...] = ()
    """Groups with members and policies."""
    policies: tuple[RustfsPolicy, ...] = ()
    """Every policy with its document."""
    keys: tuple[AccessKeyInfo, ...] = ()
    """Every access key found and its owner."""
    limits: tuple[str, ...] = ()
    """What this source cannot tell."""
    admin_access_key: str = ""
    """The admin access key used (never the secret)."""

    def owner_of(self, access_key: str) -> AccessKeyInfo | None:
        """The key's record, or None when no user owns it (deleted or never created)."""
        return next((k for k in self.keys if k.access_key == access_key), None)

    def user(self, name: str) -> RustfsUser | None:
        return next((u for u in self.users if u.access_key == name), None)

    def group(self, name: str) -> RustfsGroup | None:
        return next((g for g in self.groups if g.name == name), None)

    def policy(self, name: str) -> RustfsPolicy | None:
        return next((p for p in self.policies if p.name == name), None)

    def groups_of(self, user: str) -> tuple[str, ...]:
        u = self.user(user)
        listed = set(u.member_of) if u else set()
        listed |= {g.name for g in self.groups if user in g.members}
        return tuple(sorted(listed))

    def policies_of(self, user: str) -> tuple[tuple[str, str], ...]:
        """(policy name, attached via: 'user' or 'group NAME') for a user."""
        u = self.user(user)
        out = [(p, "user") for p in (u.policies if u else ())]
        for g in self.groups_of(user):
            grp = self.group(g)
            out += [(p, f"group {g}") for p in (grp.policies if grp else ())]
        return tuple(dict.fromkeys(out))

    def keys_of(self, user: str) -> tuple[AccessKeyInfo, ...]:
        return tuple(k for k in self.keys if k.user == user)


