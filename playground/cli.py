"""Command line: compare two or three models on one or many prompts, and the teaching views as text.

    model-playground --preset offline-default --prompt "The capital of France is"
    model-playground --models gpt2 distilgpt2 --prompts questions.txt --format csv
    model-playground next-token --prompt "The capital of France is" --temperature 0.7
    model-playground surprise --preset surprise

``python -m playground`` is the same command. The table goes to standard output, progress and
messages to standard error; the exit code says how it went (``EXIT_CODES``).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import warnings
from dataclasses import replace
from pathlib import Path

from playground.errors import PlaygroundError
from playground.limits import Limits

log = logging.getLogger("playground.cli")

EXIT_OK, EXIT_MODEL_FAILED, EXIT_BAD_INPUT, EXIT_NO_HUB = 0, 1, 2, 3
EXIT_CODES = {
    EXIT_OK: "every model finished",
    EXIT_MODEL_FAILED: "a model failed (its error is in the output)",
    EXIT_BAD_INPUT: "bad input: an option, a file, a prompt or a name; nothing was run",
    EXIT_NO_HUB: "a Hub model was asked for and the Hugging Face Hub cannot be reached",
}
FORMATS = ("table", "csv", "jsonl", "json")
SUBCOMMANDS = ("compare", "next-token", "surprise")

EPILOG = """\
sub-commands (first on the line; without one, the command compares):
  next-token    each model's most likely next tokens, with probabilities before and after
                temperature, top-k and top-p (see next-token --help)
  surprise      per-token surprisal of the text under each model, aligned over the same
                characters, and where the models disagree most (see surprise --help)

prompts:
  --prompt TEXT may be repeated; --prompt - reads all of standard input as one prompt.
  --prompts FILE reads one prompt per non-empty line. A file ending in .jsonl, or one whose
  lines all start with '{{', is JSON Lines: one object per line with a "prompt" key (other
  keys are ignored). --prompts - reads such a file from standard input. The models load once
  and every prompt runs through all of them: one row per prompt and model.

output:
  table (default): each prompt's outputs, its metrics table and why the models differ, one
  bullet per cause (--no-why leaves them out). csv: one row per prompt and model. jsonl: one
  result per line, each with the causes of its prompt under "why". json: the whole export.

sampling:
  Greedy by default. --temperature, --top-p and --top-k change sampled columns only, so they
  need --sample, unless the preset samples some columns itself (the decoding preset does).

exit codes:
{codes}

environment (the same as the web page's):
  PLAYGROUND_MAX_NEW_TOKENS (cap on --max-new-tokens, {limits.max_new_tokens}), PLAYGROUND_MAX_PROMPT_CHARS
  ({limits.max_prompt_chars}), PLAYGROUND_MAX_PROMPT_TOKENS ({limits.max_prompt_tokens} a model),
  PLAYGROUND_REQUEST_SECONDS ({limits.request_seconds:g} per prompt), PLAYGROUND_PRESET_MODELS_ONLY,
  PLAYGROUND_DEVICE, PLAYGROUND_DTYPE, PLAYGROUND_CACHE (converted weights), HF_HUB_OFFLINE

examples:
  {prog} --list
  {prog} --preset offline-default --prompt "The capital of France is"
  {prog} --preset decoding --prompt "Once upon a time" --temperature 0.7 --seed 3
  {prog} --models smollm2-135m-instruct gemma-3-270m --prompts questions.txt --format csv > runs.csv
  echo "Bonjour" | {prog} --prompt - --format jsonl --quiet
  {prog} --prompt "Hello" --prompt "Hi there" --json runs.json
  {prog} next-token --prompt "The capital of France is" --temperature 0.7 --top-p 0.9
  {prog} surprise --preset surprise --top 8
  {prog} --plan --preset gpt2-sizes --dtype bfloat16
"""


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """Which models, on which device: shared by every sub-command."""
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--preset", help="a preset name (see --list) or a preset's YAML file; default: offline-default")
    which.add_argument(
        "--models", nargs="+", metavar="MODEL", help="2 or 3 packaged names, Hub ids (owner/name[@revision]) or folders"
    )
    parser.add_argument("--device", help="cpu, cuda (or gpu), cuda:1; default: cuda if present, else cpu")
    parser.add_argument("--dtype", help="float32, bfloat16 or float16; default: bfloat16 on a GPU, float32 on a CPU")
    parser.add_argument("--quiet", action="store_true", help="print no progress, only results and errors")


def build_parser(prog: str = "model-playground") -> argparse.ArgumentParser:
    codes = "\n".join(f"  {code}  {meaning}" for code, meaning in EXIT_CODES.items())
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Compare two or three language models on one or many prompts: outputs, tokens, "
        "perplexity, bits per byte, latency and memory.",
        epilog=EPILOG.format(codes=codes, prog=prog, limits=Limits()),  # the defaults, not this environment's
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_model_options(parser)
    parser.add_argument("--list", action="store_true", help="list the presets and packaged models, then exit")
    parser.add_argument(
        "--prompt", action="append", metavar="TEXT", help="a prompt; repeat for more; - reads standard input"
    )
    parser.add_argument("--prompts", action="append", metavar="FILE", help="a file of prompts; - reads standard input")
    parser.add_argument("--target", help="target text (encoder-decoder) or second sentence (embedding encoder)")
    parser.add_argument("--task", help="encoder-decoders: summarization, translation or generative_qa")
    parser.add_argument("--source-lang", help="translation source language, e.g. en (mBART: en_XX)")
    parser.add_argument("--target-lang", help="translation target language, e.g. fr (mBART: fr_XX)")
    parser.add_argument("--max-new-tokens", type=int, default=48, help="new tokens per model (default: 48)")
    parser.add_argument("--sample", action="store_true", help="sample every column instead of greedy decoding")
    parser.add_argument("--temperature", type=float, help="sampling: divide the logits by T (default: 1.0)")
    parser.add_argument("--top-p", type=float, help="sampling: keep the most likely tokens up to p (default: 1.0, off)")
    parser.add_argument("--top-k", type=int, help="sampling: keep the k most likely tokens (default: 0, off)")
    parser.add_argument("--seed", type=int, default=0, help="seed of each sampled column (default: 0)")
    template = parser.add_mutually_exclusive_group()
    template.add_argument(
        "--chat-template", dest="chat", action="store_true", default=None, help="wrap the prompt in each chat template"
    )
    template.add_argument(
        "--no-chat-template", dest="chat", action="store_false", help="plain prompts (default: instruct models wrap it)"
    )
    parser.add_argument("--format", choices=FORMATS, default="table", help="standard output (default: table)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the JSON export to this file")
    parser.add_argument(
        "--no-why",
        dest="why",
        action="store_false",
        help='leave "why they differ" out of the table (json and jsonl keep it under "why")',
    )
    parser.add_argument(
        "--plan",
        action="store_true",
        help="load nothing: estimate each model's memory (weights + KV cache) and say where it fits",
    )
    parser.add_argument("--context", type=int, help="with --plan: tokens of KV cache (default: the model's maximum)")
    return parser


def main(argv: list[str] | None = None, prog: str = "model-playground") -> int:
    """Run the command; return its exit code (``EXIT_CODES``)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv.pop(0) if argv and argv[0] in SUBCOMMANDS else "compare"
    if command == "compare":
        args = build_parser(prog).parse_args(argv)
    else:
        from playground import cli_teaching

        args = cli_teaching.build_parser(command, f"{prog} {command}").parse_args(argv)
    args.command_line = [prog, *([] if command == "compare" else [command]), *argv]
    configure_output(args.quiet)
    try:
        if command == "compare":
            return run_compare(args)
        from playground import cli_teaching

        return cli_teaching.run(command, args)
    except PlaygroundError as exc:
        from playground.cli_inputs import NoHub

        print(f"error: {exc}", file=sys.stderr)
        return EXIT_NO_HUB if isinstance(exc, NoHub) else EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader of standard output went away (| head): nothing to report
        sys.stderr.close()
        return EXIT_OK


def configure_output(quiet: bool) -> None:
    """Progress lines on standard error; with ``quiet``, none at all (library progress bars included)."""
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr, force=True)
    logging.getLogger("playground").setLevel(logging.ERROR if quiet else logging.INFO)
    for noisy in ("transformers", "httpx", "huggingface_hub", "accelerate", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    if quiet:
        os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
        os.environ["TQDM_DISABLE"] = "1"  # tqdm reads TQDM_* variables as its defaults
        warnings.filterwarnings("ignore")
        import transformers

        transformers.utils.logging.disable_progress_bar()
        transformers.utils.logging.set_verbosity_error()


def choose_models(args: argparse.Namespace):
    """(preset or None, columns) from --models or --preset (default: the offline default preset)."""
    from playground.compare import Column
    from playground.presets import DEFAULT_PRESET, get_preset, load_preset

    if args.models:
        return None, [Column(m) for m in args.models]
    name = args.preset or DEFAULT_PRESET
    # A lecturer's own preset file works as well as a name: --preset my-lecture.yaml
    preset = load_preset(Path(name)) if name.endswith((".yaml", ".yml")) and Path(name).is_file() else get_preset(name)
    return preset, preset.columns


def run_compare(args: argparse.Namespace) -> int:
    from playground.api import check_device, check_models_argument, check_sampling, compare_many, default_cache
    from playground.cli_inputs import check_models, check_output_file, read_prompts
    from playground.models import parse_dtype

    if args.list:
        return list_presets()
    preset, columns = choose_models(args)
    if args.plan:
        return plan(columns, args)
    check_output_file(args.json)
    if args.dtype:
        parse_dtype(args.dtype)
    cache = default_cache(check_device(args.device) if args.device else None, args.dtype)
    prompts = read_prompts(args.prompt, args.prompts)
    if not prompts and preset is None:
        raise PlaygroundError("Give a prompt with --prompt or a file of prompts with --prompts.")
    settings = compare_settings(args, preset)
    check_models_argument(columns)
    check_sampling(columns, settings, spell=lambda key: "--" + key.replace("_", "-"), fix="add --sample")
    check_models([c.reference for c in columns])
    runs = compare_many(preset if args.models is None else columns, prompts or None, cache=cache, **settings)
    runs = replace(runs, given={"command": args.command_line})
    write_output(runs, args.format, why=args.why)
    if args.json:
        args.json.write_text(runs.to_json(producer="command line"), encoding="utf-8")
        log.info("wrote %s", args.json)
    return EXIT_MODEL_FAILED if runs.failed else EXIT_OK


def compare_settings(args: argparse.Namespace, preset) -> dict:
    """The settings ``compare_many`` takes, from the options given and the preset's defaults."""
    settings = {"max_new_tokens": args.max_new_tokens, "seed": args.seed}
    if args.sample:
        settings["do_sample"] = True
    if args.chat is not None:
        settings["use_chat_template"] = args.chat
    for name in ("temperature", "top_p", "top_k"):
        if getattr(args, name) is not None:
            settings[name] = getattr(args, name)
    for name in ("target", "task", "source_lang", "target_lang"):
        value = getattr(args, name) or (getattr(preset, name, "") if preset else "")
        if value:
            settings[name] = value
    return settings


def write_output(runs, output_format: str, why: bool = True) -> None:
    """The runs on standard output. The table ends each prompt with why the models differ (unless
    not ``why``); json and jsonl carry it under "why"; csv stays one row per prompt and model."""
    from playground import export
    from playground.cli_table import format_runs

    if output_format == "table":
        print(format_runs(runs.runs, why=runs.why() if why else None))
    elif output_format == "csv":
        sys.stdout.write(runs.to_csv())
    elif output_format == "json":
        print(runs.to_json(producer="command line"))
    else:
        for line in export.lines(runs.document(producer="command line")):
            print(export.dumps_line(line))


def list_presets() -> int:
    from playground.packaged import PACKAGED
    from playground.presets import load_presets

    for name, preset in load_presets().items():
        print(f"{name:28} {preset.title}\n{'':28} {preset.purpose}")
    print("\npackaged (offline) models: " + ", ".join(PACKAGED))
    return EXIT_OK


def plan(columns: list, args: argparse.Namespace) -> int:
    """Print where each model would go, side by side, from its config alone (nothing is loaded)."""
    import torch

    from playground import planner
    from playground.models import parse_dtype

    dtype = args.dtype or ("bfloat16" if torch.cuda.is_available() else "float32")
    dtype = str(parse_dtype(dtype)).removeprefix("torch.")
    refs = list(dict.fromkeys(c.reference for c in columns))
    plans = planner.plan_all([planner.estimate_reference(ref, dtype, args.context) for ref in refs])
    for p in plans:
        print(f"{p.verdict:14} {p.message}")
        if p.verdict not in ("fits", "does not fit"):
            print(f"{'':14} from_pretrained(..., {planner.load_kwargs(p)})")
    return EXIT_OK if all(p.verdict != "does not fit" for p in plans) else EXIT_MODEL_FAILED
