"""The Model Comparison Playground web page: builds the page (``web``) and serves it.

``python app.py`` serves it (``--host``/``--port``, or GRADIO_SERVER_NAME/PORT). The page lives in
the ``web`` package; the logic it calls lives in ``playground``. No model loads at import.
"""

from __future__ import annotations

import zerogpu  # noqa: F401 - first: on ZeroGPU, ``spaces`` must be imported before torch touches CUDA

# isort: split

import argparse
import logging
import os

from web import CONCURRENCY, build_demo, launch_options, serving_options

__all__ = ["CONCURRENCY", "build_demo", "launch_options", "main", "serving_options"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the Model Comparison Playground.")
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", "7860")))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    demo = build_demo()
    demo.launch(server_name=args.host, server_port=args.port, **launch_options(), **serving_options())


if __name__ == "__main__":
    main()
