"""Start-up probe: without a network, Hub ids fail at once instead of after retries."""

import time

import pytest

from playground.errors import PlaygroundError
from playground.hub import go_offline_if_unreachable, hub_reachable
from playground.models import load_model
from playground.references import parse_reference


def test_unreachable_hub_turns_on_offline_mode_and_hub_ids_fail_fast(monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", huggingface_hub.constants.HF_HUB_OFFLINE)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # the discard port: nothing listens there
    assert not hub_reachable(timeout=0.5)
    assert go_offline_if_unreachable()
    start = time.perf_counter()
    with pytest.raises(PlaygroundError, match="not available offline"):
        load_model(parse_reference("someone/some-model"))
    assert time.perf_counter() - start < 5.0
