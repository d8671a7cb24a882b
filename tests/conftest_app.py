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
from tests.tiny_heads import TinyModels

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


HEADS = {
    "tiny-gpt2-b": ("GPT-2", "causal"),  # a second decoder whose byte-level BPE learnt another vocabulary
    "tiny-bert-classifier": ("BERT", "sequence"),
    "tiny-bert-ner": ("BERT", "token"),
    "tiny-bert-qa": ("BERT", "qa"),
    "tiny-t5": ("T5", "seq2seq"),
}
"""Lecture-table models from ``tiny_heads``: name -> (family, head)."""


def build_tiny_models(folder: Path) -> dict[str, str]:
    """A tiny GPT-2, a tiny Llama-like chat decoder and the ``HEADS`` models, saved as folders;
    name -> folder path."""
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
    # Wide enough that 512 tokens take seconds on a CPU: the tests that stop a run mid-way need
    # one that is still running when they press Stop, however fast the machine.
    slow = GPT2LMHeadModel(GPT2Config(n_layer=8, n_embd=512, n_head=8, n_positions=1024, **shared))
    paths = {}
    decoders = (("tiny-gpt2", gpt2, None), ("tiny-llama-chat", llama, CHAT_TEMPLATE), ("slow-gpt2", slow, None))
    for name, model, template in decoders:
        target = folder / name
        model.save_pretrained(target)
        tokenizer.chat_template = template
        tokenizer.save_pretrained(target)
        paths[name] = str(target)
    (folder / "not-a-model").mkdir()
    paths["not-a-model"] = str(folder / "not-a-model")
    heads = TinyModels(folder / "heads")
    paths |= {name: str(heads.folder(family, head)) for name, (family, head) in HEADS.items()}
    return paths


def tiny_presets(paths: dict[str, str]) -> dict[str, Preset]:
    """The page's model sets over the tiny models: two plain ones, and stand-ins for the lecture presets."""
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
            PresetModel(paths["tiny-llama-chat"], use_chat_template=True, note="With its chat template."),
            PresetModel(paths["tiny-llama-chat"], use_chat_template=False, note="Plain text."),
        ],
        prompts=["Explain in two sentences why the sky is blue.", *prompts],
        notes="Look at the prompt each column read: the template wraps the question in turns.",
        offline=True,
    )
    lecture = Preset(
        name="tiny-lecture",
        title="Tiny lecture",
        purpose="Two decoders with different tokenizers next to an entity tagger.",
        models=[
            PresetModel(
                paths["tiny-gpt2"],
                note="Byte-level BPE.",
                training="About 2 billion tokens of made-up text.",
                source="the test suite",
            ),
            PresetModel(
                paths["tiny-gpt2-b"],
                note="Byte-level BPE with another vocabulary.",
                training="The number of training tokens was not published.",
                source="the test suite",
            ),
            PresetModel(paths["tiny-bert-ner"], note="WordPiece; tags entities."),
        ],
        # short enough for the second GPT-2's 64-token window with the default 48 new tokens
        prompts=["Marie Curie was born in Warsaw."],
        notes="What to look for: how each tokenizer cuts the names, and where the two decoders disagree.",
        offline=True,
    )
    decoding = Preset(
        name="decoding",
        title="Tiny decoding",
        purpose="One tiny decoder, greedy and sampled.",
        models=[
            PresetModel(paths["tiny-llama-chat"], do_sample=False),
            PresetModel(paths["tiny-llama-chat"], do_sample=True),
        ],
        prompts=["The capital of France is"],
        notes="What to look for: greedy takes the top row of the next-token view; sampling draws from the rest.",
        offline=True,
    )
    tasks = Preset(
        name="tiny-tasks",
        title="Tiny tasks",
        purpose="A classifier, an extractive QA reader and T5 answering the same question.",
        models=[
            PresetModel(paths["tiny-bert-classifier"]),
            PresetModel(paths["tiny-bert-qa"]),
            PresetModel(paths["tiny-t5"]),
        ],
        prompts=["Marie Curie was born in Warsaw and later worked in Paris."],
        target="Where was Marie Curie born?",
        task="generative_qa",
        offline=True,
    )
    return {p.name: p for p in (pair, trio, lecture, decoding, tasks)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch_page(tmp: Path, paths: dict[str, str], extra: dict[str, Preset] | None = None):
    """Serve the page on the tiny presets (and ``extra`` ones); returns (demo, url). The conversion
    cache is ``tmp``."""
    os.environ["PLAYGROUND_CACHE"] = str(tmp / "cache")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    # The page serves the tiny models from their folder, as a lecturer serves theirs: it is a model
    # place, where a folder that is not a model may be described as such (docs/security.md).
    os.environ["PLAYGROUND_MODEL_DIRS"] = os.path.commonpath(list(paths.values()))
    import app

    demo = app.build_demo(presets=tiny_presets(paths) | (extra or {}), export_dir=tmp / "exports")
    _, url, _ = demo.launch(
        server_name="127.0.0.1",
        server_port=free_port(),
        prevent_thread_lock=True,
        quiet=True,
        **app.launch_options(),
        **app.serving_options(),
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


def run_args(models: list[str], prompt: str, preset: str = "tiny-pair", **overrides) -> dict:
    """Keyword arguments of the /run endpoint (the page's inputs, in the page's defaults)."""
    values = {
        "preset": preset,
        "model_1": models[0],
        "model_2": models[1] if len(models) > 1 else "",
        "model_3": models[2] if len(models) > 2 else "",
        "prompt": prompt,
        "target": "",
        "max_new_tokens": 12,
        "decoding": "Greedy",
        "temperature": 0.8,
        "top_p": 0.95,
        "seed": 0,
        "chat_template": "Auto",
        "task": "",
        "source_lang": "",
        "target_lang": "",
        "column_decoding": "Same for every column",
    }
    return values | overrides
