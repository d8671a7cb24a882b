"""Columns served by an OpenAI-compatible inference server (vLLM, TGI, llama.cpp, llama-cpp-python).

Servers are configured outside the UI and named ``remote:NAME`` (``playground.remote_servers``:
environment variables or a YAML file; the URL and key never reach a visitor). Settings map to the server as:
greedy is ``temperature 0, top_k 1, top_p 1`` (llama.cpp's ``top_k`` extension is honoured by vLLM too;
the greedy token does not depend on the seed); sampling sends temperature, top_p, top_k (0 = off on
llama.cpp and vLLM) and the seed, which the server uses for its own generator, so a seed reproduces a
server's output only on that server. ``repeat_penalty 1`` and ``min_p 0`` turn off llama-cpp-python's
defaults (1.1 and 0.05), which would otherwise change the greedy text. ``cache_prompt: false`` asks
llama.cpp's server to evaluate every prompt afresh: a server that reuses the KV cache of the previous
request's common prefix computes the rest in other batch sizes, and near-tie greedy tokens can then
differ from a fresh run (llama-cpp-python always reuses it: the same prompt twice in a row may give
two texts). Servers you run yourself are the target: OpenAI's own API rejects the llama.cpp fields.
All times are measured here, at the client, so they include the network and the server's queue.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

import httpx

from playground import metrics
from playground.errors import PlaygroundError
from playground.generation import Generation, GenerationSettings, Prompt, Update
from playground.metrics import tokens_per_second
from playground.scoring import Score, TokenScore

if TYPE_CHECKING:
    from playground.compare import Request, Result

from playground.remote_servers import (
    PREFIX,
    NoPromptLogprobs,
    RemoteServer,
    client,
    connection_error,
    fail,
    http_error,
    is_remote,
    request_json,
    server_config,
)

__all__ = [
    "PREFIX",
    "NoPromptLogprobs",
    "RemoteServer",
    "count_tokens",
    "generate",
    "is_remote",
    "run_one",
    "score",
    "served_model",
    "server_config",
    "stream",
]


def served_model(server: RemoteServer) -> str:
    """The model to ask for, checked against the server's list (llama-cpp-python answers any unknown name
    with its default model instead of a 404, so the name is checked here)."""
    listing = request_json(server, "GET", "/v1/models")
    ids = [m.get("id") for m in listing.get("data", [])] if isinstance(listing, dict) else []
    if server.model is None:
        if len(ids) == 1:
            return ids[0]
        raise fail(
            server,
            f"the server serves {len(ids)} models ({', '.join(ids)[:300]}): name one in "
            f"{server.env}MODEL (or model: in the configuration file).",
        )
    if ids and server.model not in ids:
        raise fail(
            server,
            f"the server does not serve model '{server.model}'; it serves: "
            f"{', '.join(ids)[:300]}. Fix the model name in the configuration.",
        )
    return server.model


def count_tokens(server: RemoteServer, model: str, text: str) -> list[int] | None:
    """The server's token ids for a text, or None when it has no tokenize endpoint.

    vLLM and llama.cpp answer ``/tokenize``, llama-cpp-python ``/extras/tokenize``; special tokens
    written in the text (a document start) are tokenized as such.
    """
    body = {
        "model": model,
        "prompt": text,
        "content": text,
        "input": text,
        "add_special": False,
        "add_special_tokens": False,
        "parse_special": True,
    }
    for path in ("/tokenize", "/extras/tokenize"):
        try:
            with client(server, timeout=30.0) as http:
                response = http.post(path, json=body)
        except httpx.HTTPError as exc:
            raise connection_error(server, exc) from None
        if response.status_code in (401, 403):
            raise http_error(server, response)
        try:
            answer = response.json() if response.status_code == 200 else None
        except ValueError:
            answer = None
        tokens = answer.get("tokens") if isinstance(answer, dict) else None
        if isinstance(tokens, list) and all(isinstance(t, int) for t in tokens):
            return tokens
    return None


# --- the verbs: generate (streamed), score, and a whole column -----------------------------------


def sampling(settings: GenerationSettings) -> dict:
    """The request fields for the generation settings (module docstring: how greedy maps)."""
    fields = {"min_p": 0.0, "repeat_penalty": 1.0, "presence_penalty": 0.0, "frequency_penalty": 0.0}
    fields["cache_prompt"] = False
    if not settings.do_sample:
        return {**fields, "temperature": 0.0, "top_k": 1, "top_p": 1.0, "seed": settings.seed}
    return {
        **fields,
        "temperature": settings.temperature,
        "top_k": settings.top_k,
        "top_p": settings.top_p,
        "seed": settings.seed,
    }


_first_calls: set[str] = set()
_first_calls_lock = threading.Lock()


def stream(server: RemoteServer, text: str, settings: GenerationSettings) -> Iterator[Update]:
    """Generate on the server, streamed as server-sent events, in the same updates as a local column.

    Plain prompts go to ``/v1/completions`` (after the configured document start); with the chat
    template, ``/v1/chat/completions`` and the server's own template (the prompt's token ids are then
    unknown here). The time to the first token runs from sending the request to the first event that
    carries a token. While streaming, ``Update.new_tokens`` counts events (servers send one token per
    event, or fewer when a character spans tokens); the final count is the server's own, else the
    output re-tokenized by the server.
    """
    settings.check()
    model = served_model(server)
    chat = server.instruct if settings.use_chat_template is None else settings.use_chat_template
    body = {"model": model, "max_tokens": settings.max_new_tokens, "stream": True, **sampling(settings)}
    body["stream_options"] = {"include_usage": True}  # vLLM and llama.cpp then report the tokens they made
    if chat:
        path, body["messages"] = "/v1/chat/completions", [{"role": "user", "content": text}]
        prompt = Prompt([], f"[the server's chat template, around:]\n{text}", True)
    else:
        path, body["prompt"] = "/v1/completions", server.document_start + text
        prompt = Prompt(count_tokens(server, model, body["prompt"]) or [], body["prompt"], False)
    with _first_calls_lock:
        first_call = server.name not in _first_calls
        _first_calls.add(server.name)
    output, pieces, finish, usage, done = "", 0, None, None, False
    t0 = time.perf_counter()
    t_first = None
    try:
        with client(server) as http, http.stream("POST", path, json=body) as response:
            if response.status_code != 200:
                response.read()
                raise http_error(server, response)
            for event in _events(server, response):
                if event == "[DONE]":
                    done = True
                    break
                usage = event.get("usage") or usage
                for choice in event.get("choices") or []:
                    piece = choice.get("text") or (choice.get("delta") or {}).get("content") or ""
                    finish = choice.get("finish_reason") or finish
                    if (piece or finish) and t_first is None:
                        t_first = time.perf_counter()
                    if piece:
                        output, pieces = output + piece, pieces + 1
                        yield Update(piece, output, pieces)
    except httpx.HTTPError as exc:
        if t_first is None:
            raise connection_error(server, exc) from None
        raise _dropped(server, pieces) from None
    if not done and finish is None:
        raise _dropped(server, pieces)
    total = time.perf_counter() - t0
    t_first = t_first if t_first is not None else t0 + total
    new_tokens = (usage or {}).get("completion_tokens") or _count_output(server, model, output, pieces)
    rate = tokens_per_second(new_tokens - 1, total - (t_first - t0)) if new_tokens > 1 else 0.0
    note = f"Served by {server.label} ({server.dtype}); times measured at this client, network included."
    if not output:
        note = "The model stopped at once: its first token was end-of-sequence. " + note
    reason = "max new tokens" if finish == "length" else "end of sequence"
    result = Generation(
        text=output,
        prompt=prompt,
        new_tokens=new_tokens,
        stop_reason=reason,
        time_to_first_token_s=t_first - t0,
        decode_tokens_per_s=rate,
        total_s=total,
        first_call=first_call,
        note=note,
    )
    yield Update("", output, new_tokens, result)


def generate(server: RemoteServer, text: str, settings: GenerationSettings) -> Generation:
    """Run ``stream`` to the end and return the final result."""
    for update in stream(server, text, settings):
        if update.result is not None:
            return update.result
    raise AssertionError("stream ended without a result")


def _events(server: RemoteServer, response: httpx.Response) -> Iterator[dict | str]:
    """The data of each server-sent event: a JSON object, or the closing "[DONE]"."""
    for line in response.iter_lines():
        if not line.startswith("data:"):
            continue  # blank separators, comments (":"), "event:" lines
        data = line.removeprefix("data:").strip()
        if data == "[DONE]":
            yield data
            return
        try:
            event = json.loads(data)
        except ValueError:
            raise fail(server, f"the server sent an event that is not JSON: {data[:100]!r}.") from None
        if isinstance(event, dict) and event.get("error"):
            error = event["error"]
            detail = error.get("message", error) if isinstance(error, dict) else error
            raise fail(server, f"the server reported an error mid-answer: {str(detail)[:300]}")
        yield event


def _dropped(server: RemoteServer, pieces: int) -> PlaygroundError:
    return fail(
        server,
        f"the server closed the stream after {pieces} pieces of text, before the answer was "
        "finished (no finish reason, no [DONE]). It may have crashed or restarted: try again.",
    )


def _count_output(server: RemoteServer, model: str, output: str, pieces: int) -> int:
    """New tokens when the server sent no usage: the output tokenized by the server, else one per event."""
    if not output:
        return 0
    tokens = count_tokens(server, model, output)
    return len(tokens) if tokens is not None else pieces


TOP_LOGPROBS = 5


def score(server: RemoteServer, text: str) -> Score:
    """Perplexity and bits per byte from the server's log-probabilities of the text's own tokens.

    Asks ``/v1/completions`` with ``echo``, ``logprobs=5`` and one greedy new token. An OpenAI-compatible
    server then returns log p(token | the tokens before it) for every prompt token (none for the first),
    then the generated token. Alignment check: that last token is the greedy choice, so its
    log-probability must be the highest of its row; a server whose entries are shifted by one position
    fails this (llama-cpp-python when the prompt does not start with the model's BOS token,
    abetlen/llama-cpp-python#1983) and its numbers are refused, not shown. The text is scored in one
    window (the server's context is its limit); ranks beyond the server's top 5 are unknown (0).
    """
    if not text.strip():
        raise PlaygroundError("The text to score is empty: type a sentence or a paragraph.")
    model = served_model(server)
    body = {
        "model": model,
        "prompt": server.document_start + text,
        "echo": True,
        "logprobs": TOP_LOGPROBS,
        "max_tokens": 1,
        "min_tokens": 1,
        **sampling(GenerationSettings()),
    }
    refusal = "the server refused to return the prompt's log-probabilities, so it has no perplexity here"
    answer = request_json(server, "POST", "/v1/completions", body, refusal=refusal)
    choice = (answer.get("choices") or [{}])[0]
    logprobs = choice.get("logprobs") or {}
    pieces, values = logprobs.get("tokens") or [], logprobs.get("token_logprobs") or []
    tops = logprobs.get("top_logprobs") or [None] * len(values)
    if not values or len(values) != len(pieces) or all(v is None for v in values):
        raise NoPromptLogprobs(
            f"{server.label}: the server returns no log-probabilities for the prompt's tokens (OpenAI's echo + "
            "logprobs), so perplexity cannot be computed there. vLLM and llama-cpp-python do; llama.cpp's own "
            "server does not."
        )
    generated = (answer.get("usage") or {}).get("completion_tokens", 1)
    if generated and tops[-1] and values[-1] is not None and values[-1] < max(tops[-1].values()) - 1e-3:
        raise NoPromptLogprobs(
            f"{server.label}: the server's prompt log-probabilities are misaligned (its greedy token is not the "
            "most likely one of its own row), so no perplexity is shown. llama-cpp-python aligns them only when "
            "the prompt starts with the model's BOS token: set document_start to that token's text, or start "
            "the server with --kv_overrides tokenizer.ggml.bos_token_id=int:ID for the document start you use."
        )
    entries = list(zip(pieces, values, tops, strict=True))[: len(values) - generated]
    if entries and server.document_start and entries[0][0] in ("", server.document_start):
        entries = entries[1:]  # the document start: context, not text
    tokens, nll, position, unscored = [], 0.0, 0, 0
    for piece, value, top in entries:
        start, position = position, min(position + len(piece), len(text))
        if value is None:
            unscored += 1
            continue
        rank = 1 + sum(v > value + 1e-6 for v in (top or {}).values()) if top and piece in top else 0
        rank = rank if rank <= TOP_LOGPROBS else 0
        tokens.append(TokenScore(piece, start, position, metrics.surprisal_bits(-value), rank, math.exp(value)))
        nll -= value
    if not tokens:
        raise NoPromptLogprobs(f"{server.label}: the text is one token: nothing is left to score after the first.")
    note = f"Scored by {server.label} in one window; ranks beyond its top {TOP_LOGPROBS} show as 0."
    if unscored:
        note += (
            f" The server gave no probability for the first {unscored} token(s) (llama-cpp-python drops its BOS "
            "token from the echo and leaves the next one out): they are not in the perplexity."
        )
    scored_bytes = len(text[tokens[0].start :].encode("utf-8"))
    return Score(
        kind="causal",
        perplexity=metrics.perplexity(nll, len(tokens)),
        bits_per_byte=metrics.bits_per_byte(nll, scored_bytes),
        total_nll_nats=nll,
        scored_tokens=len(tokens),
        scored_bytes=scored_bytes,
        tokens=tokens,
        document_start=server.document_start or None,
        window=len(entries),
        stride=len(entries),
        windows=1,
        dtype=server.dtype,
        note=note,
    )


def run_one(server: RemoteServer, request: Request, state: Result) -> Iterator[Result]:
    """A remote column's work for a ``compare.Request``: yields its ``compare.Result`` as it fills, as
    ``model_work.run_one`` does for a local model. Facts and memory stay on the server: they are not shown."""
    model = served_model(server)
    ids = count_tokens(server, model, request.text)
    if ids:
        state = replace(
            state,
            text_tokens=len(ids),
            characters_per_token=metrics.characters_per_token(request.text, len(ids)),
            tokens_per_word=metrics.tokens_per_word(request.text, len(ids)),
        )
    for update in stream(server, request.text, request.generation):
        state = replace(state, output=update.text, generation=update.result)
        if update.result is None:
            yield state
    prompt = state.generation.prompt
    if ids and prompt.ids:
        state = replace(state, special_tokens=len(prompt.ids) - len(ids))
    not_defined = {"memory": f"the model runs on the server behind {server.label}: its memory is not measured here"}
    if request.score:
        try:
            state = replace(state, score=score(server, request.text))
        except NoPromptLogprobs as exc:
            not_defined["perplexity"] = str(exc)
    yield replace(state, status="done", not_defined=not_defined)
