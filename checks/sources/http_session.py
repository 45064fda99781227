"""requests Sessions for one server each, with the environment read once."""

from __future__ import annotations

import os
from typing import Any


def settle_environment(session: Any, base_url: str) -> Any:
    """Apply to `session` what requests would read from the environment on every request to `base_url` (the
    proxy variables and NO_PROXY, ~/.netrc, REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE), then stop it reading them.

    With `trust_env` on, requests walks os.environ and looks for ~/.netrc on each request: about a fifth of the
    CPU of a small local request, holding the GIL the other panes' fetches wait for. A session here talks to
    one server, and the environment does not change under a running process, so once is the same answer."""
    import requests  # lazy

    proxies = requests.utils.get_environ_proxies(base_url, no_proxy=None)
    for scheme, proxy in proxies.items():
        session.proxies.setdefault(scheme, proxy)
    if session.auth is None:
        session.auth = requests.utils.get_netrc_auth(base_url)
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle and session.verify is True:
        session.verify = bundle
    session.trust_env = False
    return session


def session_for(base_url: str) -> Any:
    """A new requests Session for `base_url` (see `settle_environment`)."""
    import requests  # lazy

    return settle_environment(requests.Session(), base_url)
