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


def needs_hub(reference: str) -> bool:
    """True if loading the reference downloads from the Hub: a Hub id, or a packaged model whose
    weight package is not installed (it then loads from its Hub id, see ``models._resolve``)."""
    from playground.packaged import PACKAGED
    from playground.references import parse_reference

    ref = parse_reference(reference)
    return ref.source == "hub" or (ref.source == "packaged" and not PACKAGED[ref.name].installed())


def in_local_cache(reference: str) -> bool:
    """True if a Hub model's config is already in the local Hugging Face cache (it may load offline)."""
    from huggingface_hub import try_to_load_from_cache

    from playground.packaged import PACKAGED
    from playground.references import parse_reference

    ref = parse_reference(reference)
    repo = PACKAGED[ref.name].hub_id if ref.source == "packaged" else ref.name
    return isinstance(try_to_load_from_cache(repo, "config.json", revision=ref.revision), str)


def missing_offline(references: list[str]) -> list[str]:
    """The references that need the Hub and cannot load without it; empty when the Hub is reachable.

    Probes the Hub only when one of them needs it (``go_offline_if_unreachable``), so a comparison
    of packaged models and local folders never waits for the network.
    """
    hub = [r for r in dict.fromkeys(references) if needs_hub(r)]
    if not hub or not go_offline_if_unreachable():
        return []
    return [r for r in hub if not in_local_cache(r)]
