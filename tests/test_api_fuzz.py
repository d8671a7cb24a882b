"""Property-based tests over the page's public API: the launched app, called as a stranger would.

Every endpoint the page lists in its API (``/compare``, ``/run``, ``/load_models``,
``/share_link``, ``/select_preset`` and the rest, read from the running page; the undocumented
ones chained after them call the same handlers) gets any Unicode for its texts and model ids,
from empty to about 1 MB, numbers far out of range, and values of the wrong type wherever
gradio_client lets them through. NaN, infinities and lone surrogates, which gradio_client cannot
encode, are sent as raw JSON to the HTTP API.

The only acceptable answers are a result or a Gradio error whose message names what was wrong.
An error without a message (gradio_client then says the app "has not enabled verbose error
reporting"), a Python traceback, a column that failed on an exception nobody anticipated, a
column left spinning, or no answer within ``ANSWER_SECONDS`` fails the test.
"""

from __future__ import annotations

import ast
import json
import math
import re

import httpx
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.attack import read_job
from tests.conftest_app import build_tiny_models, launch_page, wait_until_idle
from web.settings import SCHEMA

ANSWER_SECONDS = 60.0
"""Longest wait for one answer; a call that takes longer counts as a hang."""
MANY = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NOT_SAID = ("has not enabled verbose error reporting", "Traceback", 'File "/')
"""gradio_client's words for an error sent without a message, and the marks of a traceback."""
# Gradio's own checks of a component's value name the value and the bound or the choices: the last three.
NAMED = (
    "prompt", "model", "max new tokens", "temperature", "top-p", "top-k", "seed", "chat template", "columns",
    "decoding", "preset", "target", "task", "language", "position", "accelerator", "gpus", "utilisation",
    "training tokens", "projector", "text", "number", "limit", "minimum value", "maximum value", "list of choices"
)  # fmt: skip
"""Words of which a clear error message holds at least one: the thing that was wrong."""
UNANTICIPATED = re.compile(r"failed: \w*(Error|Exception|Interrupt)\b|Traceback|data-status=\\?\"(loading|running)")
"""A column or a comparison that ended on an exception nobody explained, or a column left spinning."""

ALPHABET = st.characters(codec="utf-8")  # every code point but lone surrogates: gradio_client cannot send them
SMALL_TEXT = st.text(alphabet=ALPHABET, max_size=60)
HUGE_TEXT = st.builds(
    lambda piece, count: (piece * count)[:1_000_000],
    st.text(alphabet=ALPHABET, min_size=1, max_size=4),
    st.integers(min_value=1, max_value=1_000_000),
)
TEXT = st.one_of(st.just(""), *[SMALL_TEXT] * 6, HUGE_TEXT)
"""Any text from empty to 1 MB; mostly short, because a huge one is refused before any model runs."""
WRONG_TYPES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),  # gradio_client cannot encode NaN: see raw_call
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.sampled_from(["a", "b", "c"]), st.integers(), max_size=2),
)
ANY_TEXT = st.one_of(TEXT, WRONG_TYPES)
NUMBER = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["nan", "inf", "-inf", "1e400", "", " 3 ", "0x10", "many"]),
    WRONG_TYPES,
)
VALID_BY_NAME = {
    "prompt": TEXT,  # any text is a valid prompt, up to the limit
    "target": TEXT,
    "max_new_tokens": st.integers(min_value=1, max_value=4),  # few, so that 500 cases fit in minutes
    "temperature": st.floats(min_value=0.05, max_value=2.0),
    "top_p": st.floats(min_value=0.05, max_value=1.0),
    "seed": st.integers(min_value=0, max_value=2**31 - 1),
} | {s.name: st.sampled_from(s.values) for s in SCHEMA if s.choices}
"""Values the page would send, by parameter: the settings schema's choices for every choice (/compare
types them as plain text)."""
ODD_MODELS = ["", "owner/name", "../..", "/etc", "~", "~nobody", "packaged:nope", "gpt2@../../x", "a" * 200]
MODEL_SLOTS = ("model_1", "model_2", "model_3")
SETTING_NUMBERS = ("max_new_tokens", "temperature", "top_p", "seed")


def choices(python_type: str) -> list | None:
    """The choices of a parameter the API describes as ``Literal[...]``, else None."""
    if not python_type.startswith("Literal["):
        return None
    return list(ast.literal_eval("[" + python_type.removeprefix("Literal[").removesuffix("]") + "]"))


def endpoints(api: dict) -> dict[str, list[dict]]:
    """The page's named endpoints that take inputs: name -> parameters, as the API lists them."""
    named = api["named_endpoints"].items()
    return {name: info["parameters"] for name, info in named if info["parameters"]}


def valid_value(parameter: dict, known_models: list[str]):
    """A strategy for values the page itself would send for this parameter."""
    name, kind = parameter["parameter_name"], parameter["python_type"]["type"]
    if name in VALID_BY_NAME:
        return VALID_BY_NAME[name]
    if name in MODEL_SLOTS:
        return st.sampled_from(known_models + ([""] if name == "model_3" else []))
    if options := choices(kind):
        return st.sampled_from(options)
    if kind == "bool":
        return st.booleans()
    default = parameter.get("parameter_default")
    return st.just("" if default is None and kind == "str" else default)


def wild_value(parameter: dict, known_models: list[str]):
    """A strategy for anything a stranger could send instead."""
    name, kind = parameter["parameter_name"], parameter["python_type"]["type"]
    if name in MODEL_SLOTS:
        return st.one_of(st.sampled_from(known_models + ODD_MODELS), ANY_TEXT)
    return NUMBER if kind in ("int", "float") else ANY_TEXT


@st.composite
def calls(draw, listed: dict[str, list[dict]], paths: dict[str, str]) -> tuple[str, dict]:
    """An endpoint and its keyword arguments: a valid call with up to three parameters made wild,
    so that odd values reach the models as well as the checks (a call wrong everywhere stops at
    the first check). /compare and /run, the endpoints that run models, come up more often."""
    endpoint = draw(st.sampled_from([*listed, "/compare", "/run"]))
    parameters = listed[endpoint]
    known = [paths["tiny-gpt2"], paths["tiny-llama-chat"], paths["not-a-model"]]
    values = {p["parameter_name"]: draw(valid_value(p, known)) for p in parameters}
    by_name = {p["parameter_name"]: p for p in parameters}
    for name in draw(st.sets(st.sampled_from(sorted(by_name)), max_size=3)):
        values[name] = draw(wild_value(by_name[name], known))
    return endpoint, values


def said_clearly(message: str) -> bool:
    """A message that names what was wrong, without a traceback."""
    lowered = message.lower()
    return len(message) > 15 and not any(n in message for n in NOT_SAID) and any(w in lowered for w in NAMED)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return build_tiny_models(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory, tiny: dict[str, str]):
    demo, url = launch_page(tmp_path_factory.mktemp("page"), tiny)
    yield url
    wait_until_idle()
    demo.close()


@pytest.fixture(scope="module")
def client(page: str) -> Client:
    client = Client(page, verbose=False, download_files=False)
    yield client
    client.close()


@pytest.fixture(scope="module")
def api(client: Client) -> dict:
    return client.view_api(print_info=False, return_format="dict")


def answer(client: Client, endpoint: str, kwargs: dict):
    """The endpoint's answer, or the AppError it raised; no answer within ANSWER_SECONDS fails."""
    job = client.submit(api_name=endpoint, **kwargs)
    try:
        return job.result(timeout=ANSWER_SECONDS)
    except AppError as error:
        return error
    except TimeoutError:
        job.cancel()
        pytest.fail(f"{endpoint} gave no answer in {ANSWER_SECONDS:g} s")


def check_answer(endpoint: str, got) -> None:
    """A result, or an error that says what was wrong; nothing unanticipated inside a result."""
    if isinstance(got, AppError):
        assert said_clearly(str(got)), f"unclear error from {endpoint}: {str(got)[:300]!r}"
        return
    text = json.dumps(got, default=str)
    found = UNANTICIPATED.search(text)
    assert found is None, f"{endpoint} answered with {text[max(0, found.start() - 200) : found.end() + 200]!r}"
    if endpoint == "/compare":
        assert all(r["status"] in ("done", "stopped", "error") for r in got["results"])
    if endpoint == "/share_link":
        assert got.startswith("http://127.0.0.1")


def test_any_api_call_gets_a_result_or_a_clear_error(client, api, tiny):
    # The property is defined inside so that a failing example shows the call alone, not the fixtures.
    @MANY
    @given(calls(endpoints(api), tiny))
    def property_holds(call):
        endpoint, kwargs = call
        check_answer(endpoint, answer(client, endpoint, kwargs))

    property_holds()


def raw_call(url: str, endpoint: str, data: list) -> tuple[str, object]:
    """Call an endpoint through the HTTP API with a body gradio_client cannot write (NaN and
    Infinity as bare words, lone surrogates as \\u escapes); returns the last event ("complete",
    "error", or "refused" when the request was not even queued) and its data."""
    body = json.dumps({"data": data})  # allow_nan and ensure_ascii, as the standard library writes JSON
    with httpx.Client(base_url=f"{url}/gradio_api", timeout=ANSWER_SECONDS) as http:
        posted = http.post(f"/call{endpoint}", content=body, headers={"content-type": "application/json"})
        if posted.status_code != 200:
            return "refused", posted.text
    return read_job(url, endpoint, posted.json()["event_id"], timeout=ANSWER_SECONDS)


def raw_values(parameters: list[dict], tiny: dict[str, str]) -> dict:
    """A valid call's values by parameter name: the API's defaults, two tiny models, a prompt."""
    values = {p["parameter_name"]: p.get("parameter_default") for p in parameters}
    values |= {"model_1": tiny["tiny-gpt2"], "model_2": tiny["tiny-llama-chat"], "model_3": ""}
    return values | {"prompt": "The capital of France is", "max_new_tokens": 2, "decoding": "Sampling"}


def raw_problem(url: str, endpoint: str, parameters: list[dict], values: dict) -> str | None:
    """Why the answer to a raw call is not a result or a clear error, or None if it is."""
    event, payload = raw_call(url, endpoint, [values[p["parameter_name"]] for p in parameters])
    if event == "complete":
        found = UNANTICIPATED.search(json.dumps(payload))
        return None if found is None else f"answered with {found.group(0)!r}"
    message = payload.get("error") if isinstance(payload, dict) else payload
    if event in ("error", "refused") and isinstance(message, str) and said_clearly(message):
        return None
    return f"{event} {str(message)[:200]!r}"


def test_nan_and_infinite_numbers_are_refused_clearly(page, api, tiny):
    """Every number parameter of every endpoint, set to NaN, Infinity and -Infinity in turn."""
    unclear, cases = [], 0
    for endpoint, parameters in endpoints(api).items():
        base = raw_values(parameters, tiny)
        numbers = [p["parameter_name"] for p in parameters if p["python_type"]["type"] in ("int", "float")]
        for name in numbers:
            for number in (math.nan, math.inf, -math.inf):
                cases += 1
                event, payload = raw_call(
                    page, endpoint, [(base | {name: number})[p["parameter_name"]] for p in parameters]
                )
                message = payload.get("error") if isinstance(payload, dict) else payload
                if event not in ("error", "refused") or not (isinstance(message, str) and said_clearly(message)):
                    unclear.append(f"{endpoint} {name}={number}: {event} {str(message)[:200]!r}")
    assert cases >= len(SETTING_NUMBERS) * 3 * 2, "the API lists fewer number parameters than /compare and /run have"
    assert unclear == [], "\n".join(unclear)


@pytest.mark.parametrize("text", ["\ud800", "a\udfffb"], ids=["lone-high", "lone-low"])
def test_lone_surrogates_get_a_result_or_a_clear_error(page, api, tiny, text):
    """Text that is not valid Unicode (JSON can carry it, UTF-8 cannot) in every text parameter."""
    unclear = []
    for endpoint, parameters in endpoints(api).items():
        base = raw_values(parameters, tiny)
        for name in [p["parameter_name"] for p in parameters if p["python_type"]["type"] == "str"]:
            if problem := raw_problem(page, endpoint, parameters, base | {name: text}):
                unclear.append(f"{endpoint} {name}={text!r}: {problem}")
    assert unclear == [], "\n".join(unclear)


def test_the_page_still_answers_after_the_fuzzing(client, tiny):
    result = client.submit(
        model_1=tiny["tiny-gpt2"],
        model_2=tiny["tiny-llama-chat"],
        prompt="The capital of France is",
        max_new_tokens=4,
        api_name="/compare",
    ).result(timeout=ANSWER_SECONDS)
    assert [r["status"] for r in result["results"]] == ["done", "done"]
