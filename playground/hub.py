"""Whether the Hugging Face Hub can be reached, decided once at start-up.

Without a network, every Hub id would spend tens of seconds in connection retries before
failing. A start-up probe that finds the Hub unreachable turns on the Hub's offline mode, so a
typed Hub id fails at once with the playground's "not available offline" message instead.
"""

from __future__ import annotations

import logging
import os
import socket
from urllib.parse import urlsplit

log = logging.getLogger(__name__)


def hub_reachable(timeout: float = 2.0) -> bool:
    """True if a TCP connection to the Hub endpoint ($HF_ENDPOINT, default huggingface.co:443) opens."""
    endpoint = urlsplit(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    port = endpoint.port or (443 if endpoint.scheme == "https" else 80)
    try:
        with socket.create_connection((endpoint.hostname, port), timeout=timeout):
            return True
    except OSError:
        return False


def go_offline_if_unreachable() -> bool:
    """Set HF_HUB_OFFLINE=1 when the Hub cannot be reached (unless the user set it); True if offline."""
    if os.environ.get("HF_HUB_OFFLINE"):
        return os.environ["HF_HUB_OFFLINE"].strip().lower() in ("1", "true", "yes", "on")
    if hub_reachable():
        return False
    os.environ["HF_HUB_OFFLINE"] = "1"
    import huggingface_hub.constants

    huggingface_hub.constants.HF_HUB_OFFLINE = True  # the library read the variable at import
    log.warning("The Hugging Face Hub cannot be reached: offline mode, packaged models only.")
    return True
