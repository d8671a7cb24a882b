"""Shared set-up for the page tests: tiny real models in folders, and the page served on a free port.

The models are built from configs (2 layers, width 32) with a byte-level BPE tokenizer trained
here in a few lines, and written with ``save_pretrained``: the page loads them by folder path
through the same code path as a Hub id. Nothing is downloaded.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

from playground.presets import Preset, PresetModel

CORPUS = [
    "The capital of France is Paris, and the capital of Italy is Rome.",
    "A cat sat on the mat. A kitten rested on the rug.",
    "Photosynthesis turns sunlight, water and carbon dioxide into sugar and oxygen.",
    "The quick brown fox jumps over the lazy dog near the river bank.",
    "Explain in two sentences why the sky is blue.",
] * 8
END = "<|endoftext|>"
CHAT_TEMPLATE = (
    "{% for m in messages %}<|user|>{{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
BROWSER_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def tiny_tokenizer(vocab_size: int = 300) -> PreTrainedTokenizerFast:
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=[END], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tokenizer.train_from_iterator(CORPUS, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, bos_token=END, eos_token=END)


def build_tiny_models(folder: Path) -> dict[str, str]:
    """A tiny GPT-2 and a tiny Llama-like chat decoder, saved as folders; name -> folder path."""
    torch.manual_seed(0)
    tokenizer = tiny_tokenizer()
    end = tokenizer.convert_tokens_to_ids(END)
    shared = {"vocab_size": len(tokenizer), "bos_token_id": end, "eos_token_id": end}
    gpt2 = GPT2LMHeadModel(GPT2Config(n_layer=2, n_embd=32, n_head=2, n_positions=1024, **shared))
    llama = LlamaForCausalLM(
        LlamaConfig(
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            max_position_embeddings=1024,
            **shared,
        )
    )
    paths = {}
    for name, model, template in (("tiny-gpt2", gpt2, None), ("tiny-llama-chat", llama, CHAT_TEMPLATE)):
        target = folder / name
        model.save_pretrained(target)
        tokenizer.chat_template = template
        tokenizer.save_pretrained(target)
        paths[name] = str(target)
    (folder / "not-a-model").mkdir()
    paths["not-a-model"] = str(folder / "not-a-model")
    return paths


def tiny_presets(paths: dict[str, str]) -> dict[str, Preset]:
    """Two presets over the tiny models, as the page's model sets."""
    prompts = ["The capital of France is", "A cat sat on the mat."]
    pair = Preset(
        name="tiny-pair",
        title="Tiny pair",
        purpose="Two tiny random decoders for tests.",
        models=[PresetModel(paths["tiny-gpt2"]), PresetModel(paths["tiny-llama-chat"])],
        prompts=prompts,
        offline=True,
    )
    trio = Preset(
        name="tiny-trio",
        title="Tiny trio",
        purpose="GPT-2, a chat Llama with and without its template.",
        models=[
            PresetModel(paths["tiny-gpt2"]),
            PresetModel(paths["tiny-llama-chat"], use_chat_template=True),
            PresetModel(paths["tiny-llama-chat"], use_chat_template=False),
        ],
        prompts=["Explain in two sentences why the sky is blue.", *prompts],
        offline=True,
    )
    return {"tiny-pair": pair, "tiny-trio": trio}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch_page(tmp: Path, paths: dict[str, str]):
    """Serve the page on the tiny presets; returns (demo, url). The conversion cache is ``tmp``."""
    os.environ["PLAYGROUND_CACHE"] = str(tmp / "cache")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import app

    demo = app.build_demo(presets=tiny_presets(paths), export_dir=tmp / "exports")
    _, url, _ = demo.launch(
        server_name="127.0.0.1",
        server_port=free_port(),
        prevent_thread_lock=True,
        quiet=True,
        **app.launch_options(),
    )
    return demo, url.rstrip("/")


def wait_until_idle(timeout: float = 60.0) -> None:
    """Wait for the engine's worker threads to end: a stopped run or a closed tab leaves them to
    finish their generation, and torch aborts the process if it exits while they still run."""
    deadline = time.monotonic() + timeout
    while any(t.is_alive() and t.name.startswith(("model-", "comparison")) for t in threading.enumerate()):
        if time.monotonic() > deadline:
            raise AssertionError("the model worker threads did not finish")
        time.sleep(0.1)
