"""Which models and presets this server can load, decided once from a start-up probe of the Hub.

Without the Hub, a Hub id would spend minutes in connection retries before failing. The page
probes the Hub once (``playground.hub``, as the command line does), and then answers a run on a
Hub model at once: it names the models that need the Hub and the preset that stands in for it.
A packaged model, a local folder and an administrator's remote column are available offline.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from playground.errors import PlaygroundError
from playground.hub import go_offline_if_unreachable
from playground.presets import Preset
from playground.references import parse_reference


@functools.cache
def hub_offline() -> bool:
    """Probe the Hub once per process (a TCP connection of at most 2 s); True if it is unreachable
    or the administrator set HF_HUB_OFFLINE. Later calls return the first answer."""
    return go_offline_if_unreachable()


def needs_hub(reference: str) -> bool:
    """True for a Hub id; a reference that does not parse is left to the engine's message."""
    try:
        return parse_reference(reference).source == "hub"
    except PlaygroundError:
        return False


def unavailable(references: Iterable[str], loaded: Iterable[str] = ()) -> list[str]:
    """The references that need the Hub while it is unreachable (none when it is reachable);
    a model already in the cache (by its label in ``loaded``) is available."""
    if not hub_offline():
        return []
    held = set(loaded)
    found = []
    for ref in dict.fromkeys(r for r in references if r):
        if needs_hub(ref) and parse_reference(ref).label not in held:
            found.append(ref)
    return found


def preset_unavailable(preset: Preset) -> bool:
    return bool(unavailable(m.id for m in preset.models))


def stand_in(preset: Preset | None, presets: Mapping[str, Preset], default: str) -> str:
    """The preset to use instead offline: the first preset the preset's ``offline_alternative``
    names in quotes (e.g. 'Offline, "offline-default" shows …'), else the default preset."""
    if preset is not None:
        for name in re.findall(r'"([\w.-]+)"', preset.offline_alternative):
            if name in presets and not preset_unavailable(presets[name]):
                return name
    return default


@dataclass(frozen=True)
class HubNeeded:
    """A run that cannot start offline: the models that need the Hub, and the preset to switch to."""

    models: tuple[str, ...]
    stand_in: str
    stand_in_title: str

    @property
    def message(self) -> str:
        names = ", ".join(self.models)
        return (
            f"The Hugging Face Hub cannot be reached from this server, and these models need it: {names}. "
            f"Offline, use the preset '{self.stand_in}' ({self.stand_in_title}) instead."
        )
