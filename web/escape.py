"""The one function that makes visitor-controlled text safe to show, and the page's messages built on it.

Everything a visitor can put on the page comes back through ``esc``: share-link parameters, model
references, prompts, targets, labels, model outputs and every message shown in a toast
(``gr.Warning``/``gr.Info``/``gr.Error``, which Gradio renders as HTML). The page shows no
Markdown built from visitor text: lists of messages are escaped HTML (docs/security.md).
"""

from __future__ import annotations

import html

import gradio as gr

_TEMPLATE_CHARACTERS = str.maketrans({"$": "&#36;", "{": "&#123;", "}": "&#125;", "`": "&#96;"})


def esc(text: object) -> str:
    """``text`` as HTML that shows it literally: ``& < > "`` become entities, and so do ``$ { }``
    and backticks, which Gradio's HTML and LaTeX rendering would otherwise interpret. Single
    quotes stay: the page writes every attribute in double quotes, and messages stay readable
    for API clients, which receive the same text."""
    return html.escape(str(text), quote=False).replace('"', "&quot;").translate(_TEMPLATE_CHARACTERS)


def error(message: object) -> gr.Error:
    """A page error (a red toast, and the error an API client receives), escaped."""
    return gr.Error(esc(message))


def warning(message: object) -> None:
    gr.Warning(esc(message))


def info(message: object) -> None:
    gr.Info(esc(message))
