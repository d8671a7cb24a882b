"""The page in a real headless Chromium: what a lecturer clicks, and what the room sees.

Screenshots of a finished comparison, of projector mode and of each teaching point
(point-<n>-<name>.png) are written to test-artifacts/.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.conftest_app import BROWSER_ARGS, build_tiny_models, launch_page, wait_until_idle

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
VIEWPORT = {"width": 1280, "height": 720}
FINISHED = re.compile(r"Finished in")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("browser")
    paths = build_tiny_models(tmp / "models")
    demo, url = launch_page(tmp, paths)
    yield url, paths, tmp / "exports"
    wait_until_idle()
    demo.close()


@pytest.fixture(scope="module")
def browser() -> Browser:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Page:
    context = browser.new_context(viewport=VIEWPORT)
    yield context.new_page()
    context.close()


def open_page(page: Page, url: str) -> None:
    page.goto(url)
    expect(model_box(page, 1)).not_to_have_value("", timeout=20_000)  # the page-load event has filled it


def model_box(page: Page, slot: int):
    return page.locator(f"#pg-model-{slot} input, #pg-model-{slot} textarea").first


def prompt_box(page: Page):
    return page.locator("#pg-prompt textarea")


def choose_preset(page: Page, title: str) -> None:
    page.locator("#pg-preset input").click()
    page.get_by_role("option", name=re.compile(f"^{re.escape(title)}")).click()


def run_and_wait(page: Page, timeout: float = 60_000) -> None:
    status = page.locator("#pg-run-status")
    status.evaluate("e => e.querySelectorAll('p').forEach(p => p.remove())")  # an earlier run's "Finished"
    page.locator("#pg-run").click()
    expect(status).to_contain_text(FINISHED, timeout=timeout)


def open_tab(page: Page, name: str) -> None:
    page.get_by_role("tab", name=name, exact=True).click()
    expect(page.get_by_role("tab", name=name, exact=True)).to_have_attribute("aria-selected", "true")


def badges(page: Page) -> list[str]:
    return page.locator(".pg-col .pg-badge").evaluate_all("els => els.map(e => e.dataset.status)")


def set_max_tokens(page: Page, tokens: int) -> None:
    page.locator("#pg-settings").get_by_text("Generation settings").click()
    number = page.locator("#pg-max-tokens input[type=number]")
    number.fill(str(tokens))
    number.press("Enter")


def test_a_comparison_from_preset_to_metrics(page: Page, served):
    url, paths, exports = served
    open_page(page, url)
    choose_preset(page, "Tiny trio")
    expect(model_box(page, 3)).to_have_value(paths["tiny-llama-chat"])
    page.get_by_role("button", name="A cat sat on the mat.").click()  # the trio's lecture prompts
    expect(prompt_box(page)).to_have_value("A cat sat on the mat.")
    prompt_box(page).fill("The capital of France is")
    runs_before = len(list(exports.glob("*"))) if exports.exists() else 0
    page.locator("#pg-run").dblclick()  # a double click must start one run, not two
    expect(page.locator("#pg-run-status")).to_contain_text(FINISHED, timeout=60_000)

    assert badges(page) == ["done", "done", "done"]
    for slot in (1, 2, 3):
        expect(page.locator(f"#pg-col-{slot} .pg-output")).not_to_be_empty()
    expect(page.locator("#pg-col-2")).to_contain_text("tiny-llama-chat (chat template)")
    expect(page.locator("#pg-col-3")).to_contain_text("tiny-llama-chat (plain prompt)")
    open_tab(page, "Size & metrics")
    rows = page.locator("#pg-metrics tbody tr")
    expect(rows).to_have_count(3)
    for row in range(3):
        expect(rows.nth(row)).to_contain_text("done")
        expect(rows.nth(row)).to_contain_text(re.compile(r"\d+\.\d+"))
    expect(page.locator("#pg-charts .pg-chart")).to_have_count(5)
    open_tab(page, "Surprise")
    first_token = page.locator("#pg-surprise .pg-cell").first
    assert re.search(r"surprisal [\d.]+ bits", first_token.get_attribute("title"))
    open_tab(page, "Outputs")
    assert len(list(exports.glob("*"))) == runs_before + 1
    with page.expect_download() as download:
        page.locator("#pg-json").click()
    exported = json.loads(Path(download.value.path()).read_text())
    assert [r["status"] for r in exported["results"]] == ["done", "done", "done"]

    ARTIFACTS.mkdir(exist_ok=True)
    page.locator("#pg-run-status").scroll_into_view_if_needed()
    page.screenshot(path=ARTIFACTS / "comparison.png", full_page=True)


def test_errors_show_where_they_belong_and_nothing_keeps_spinning(page: Page, served):
    url, paths, _ = served
    open_page(page, url)
    prompt_box(page).fill("   ")
    page.locator("#pg-run").click()
    expect(page.get_by_text("The prompt is empty").first).to_be_visible(timeout=15_000)
    assert not {"loading", "running"} & set(badges(page))

    prompt_box(page).fill("A cat sat on the mat.")
    model_box(page, 2).fill(paths["not-a-model"])
    run_and_wait(page)
    assert badges(page) == ["done", "error"]
    expect(page.locator("#pg-col-1 .pg-output")).not_to_be_empty()
    expect(page.locator("#pg-col-2 .pg-error")).to_contain_text("holds no model")
    open_tab(page, "Size & metrics")
    expect(page.locator("#pg-missing")).to_contain_text("holds no model")


def test_projector_mode_from_the_link(page: Page, served):
    url, _, _ = served
    page.emulate_media(color_scheme="dark")  # the room's laptop may be in dark mode: projector mode wins
    page.goto(url + "/?projector=1")
    expect(page.locator("#pg-projector input")).to_be_checked(timeout=20_000)
    body = page.locator("body")
    expect(body).to_have_class(re.compile(r"\bprojector\b"))
    expect(body).not_to_have_class(re.compile(r"\bdark\b"))
    big = prompt_box(page).evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
    run_and_wait(page)
    page.locator("#pg-run-status").evaluate("e => e.scrollIntoView({block: 'start'})")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "projector.png")
    output_size = page.locator("#pg-col-1 .pg-output").evaluate("e => parseFloat(getComputedStyle(e).fontSize)")

    page.locator("#pg-projector input").uncheck()
    expect(body).not_to_have_class(re.compile(r"\bprojector\b"))
    expect(body).to_have_class(re.compile(r"\bdark\b"))  # the visitor's own theme comes back
    normal = prompt_box(page).evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
    assert big >= normal * 1.25 and output_size >= 28


def test_a_share_link_reopens_the_same_settings(page: Page, browser: Browser, served):
    url, paths, _ = served
    open_page(page, url)
    choose_preset(page, "Tiny trio")
    # Wait for the preset to fill the slots before typing, or its update lands on top of the typing.
    expect(model_box(page, 3)).to_have_value(paths["tiny-llama-chat"])
    expect(prompt_box(page)).to_have_value(re.compile(".+"))
    page.wait_for_timeout(500)
    model_box(page, 3).fill(paths["tiny-gpt2"])
    prompt_box(page).fill("Why is the sea salty? & other questions")
    page.locator("#pg-settings").get_by_text("Generation settings").click()
    seed = page.locator("#pg-seed input")
    # The accordion mounts its boxes when it opens; typing before the box shows its value can be
    # overwritten by that first render on a busy machine.
    expect(seed).to_have_value("0")
    seed.fill("1234")
    seed.press("Tab")  # a number box sends its value when it loses focus
    page.get_by_text("Sampling", exact=True).click()
    expect(seed).to_have_value("1234")
    page.locator("#pg-make-link").click()
    share = page.locator("#pg-share textarea")
    expect(share).to_have_value(re.compile(r"^http://127\.0\.0\.1:\d+/\?preset=tiny-trio"))
    link = share.input_value()
    assert "seed=1234" in link and "decoding=Sampling" in link

    other = browser.new_context(viewport=VIEWPORT).new_page()
    other.goto(link)
    expect(prompt_box(other)).to_have_value("Why is the sea salty? & other questions", timeout=20_000)
    expect(model_box(other, 3)).to_have_value(paths["tiny-gpt2"])
    expect(other.locator("#pg-preset input")).to_have_value(re.compile("^Tiny trio"))
    other.locator("#pg-settings").get_by_text("Generation settings").click()
    expect(other.locator("#pg-seed input")).to_have_value("1234")
    expect(other.get_by_label("Sampling", exact=True)).to_be_checked()
    other.context.close()


def test_changing_preset_or_closing_the_tab_mid_run_leaves_the_page_usable(page: Page, browser: Browser, served):
    url, paths, _ = served
    open_page(page, url)
    set_max_tokens(page, 512)
    page.locator("#pg-run").click()
    expect(page.locator(".pg-col[data-status=running]").first).to_be_visible(timeout=20_000)
    choose_preset(page, "Tiny trio")  # while the two columns stream
    expect(model_box(page, 3)).to_have_value(paths["tiny-llama-chat"])
    expect(page.locator("#pg-run-status")).to_contain_text(FINISHED, timeout=60_000)
    assert badges(page)[:2] == ["done", "done"]

    page.locator("#pg-run").click()
    expect(page.locator(".pg-col[data-status=running]").first).to_be_visible(timeout=20_000)
    page.context.close()  # the tab closes mid-run

    fresh = browser.new_context(viewport=VIEWPORT).new_page()
    open_page(fresh, url)
    run_and_wait(fresh, timeout=60_000)
    assert badges(fresh) == ["done", "done"]
    fresh.context.close()


def point(page: Page, number: int, name: str) -> None:
    """A screenshot of what the room sees for one teaching point: the results, scrolled to the top."""
    page.locator("#pg-run-status").evaluate("e => e.scrollIntoView({block: 'start'})")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"point-{number}-{name}.png")


def test_a_lecture_through_every_teaching_view(page: Page, served):
    url, paths, _ = served
    page.goto(url + "/?projector=1")  # a lecture is on a projector
    expect(page.locator("#pg-projector input")).to_be_checked(timeout=20_000)

    choose_preset(page, "Tiny lecture")
    expect(page.locator("#pg-notes")).to_contain_text("how each tokenizer cuts the names")
    expect(model_box(page, 3)).to_have_value(paths["tiny-bert-ner"])
    run_and_wait(page)
    ner = page.locator("#pg-col-3")
    expect(page.locator("#pg-col-1 .pg-sees")).to_contain_text("each token sees only the tokens before it")
    expect(ner.locator(".pg-sees")).to_contain_text("every token gets a label")
    marked = ner.locator(".pg-task[data-task=ner] .pg-marked")
    expect(marked).to_contain_text("Warsaw")  # the whole text, entities marked in it with type and score
    expect(marked.locator("mark.pg-ent").first).to_contain_text(re.compile(r"(PER|LOC) \d+%"))
    point(page, 1, "model-types")

    open_tab(page, "Size & metrics")
    expect(page.locator("#pg-size .pg-size-panel")).to_have_count(2)  # perplexity, bits per byte
    for panel in page.locator("#pg-size .pg-size-panel").all():
        expect(panel.locator("circle")).to_have_count(2)  # the two decoders; the tagger has no perplexity
    expect(page.locator("#pg-size .pg-warn")).to_contain_text("compare bits per byte")
    point(page, 2, "size")

    open_tab(page, "Tokenizers")
    expect(page.locator("#pg-tokens .pg-why")).to_contain_text("bits per byte")
    expect(page.locator("#pg-tokens .pg-counts tbody tr")).to_have_count(3)
    prompt = prompt_box(page).input_value()
    rows = page.locator("#pg-tokens .pg-blk").evaluate_all(
        "blocks => [0, 1, 2].map(m => blocks.map(b => b.children[m].textContent).join(''))"
    )
    assert rows == [prompt] * 3, "each model's row should spell out the same characters"
    starts = [page.locator(f"#pg-tokens .pg-blk > :nth-child({m}).pg-start").count() for m in (1, 2, 3)]
    assert len(set(starts)) > 1, "three tokenizers cut the text into the same number of tokens"
    point(page, 3, "tokenizers")

    open_tab(page, "Surprise")
    expect(page.locator("#pg-surprise .pg-grid").first.locator(".pg-blk").first.locator(".pg-cell")).to_have_count(2)
    expect(page.locator("#pg-surprise .pg-hot-table tbody tr").first).to_be_visible()
    expect(page.locator("#pg-surprise .pg-bucket-row")).to_have_count(2)
    expect(page.locator("#pg-surprise")).to_contain_text("Not scored over this text")
    point(page, 6, "surprise")

    open_tab(page, "Next token")  # filled after the run, at the end of the prompt
    expect(page.locator("#pg-next .pg-next")).to_have_count(3)
    expect(page.locator("#pg-next .pg-cands")).to_have_count(2)
    expect(page.locator("#pg-next")).to_contain_text("writes text")
    position = page.locator("#pg-position input[type=number]")
    position.fill("11")
    position.press("Enter")
    page.locator("#pg-next-show").click()
    expect(page.locator("#pg-next .pg-next-where")).to_contain_text("after position 11")
    expect(page.locator("#pg-next .pg-caret-text")).to_have_text(re.compile(r"^Marie Curie▍"))

    page.locator("#pg-load").click()  # the facts card opens with the training facts and the cost
    expect(page.get_by_role("tab", name="Facts & cost", exact=True)).to_have_attribute("aria-selected", "true")
    expect(page.locator("#pg-facts tbody tr").first).to_contain_text("decoder")
    cost = page.locator("#pg-cost tbody")
    expect(cost.locator("tr", has_text="training data")).to_contain_text("About 2 billion tokens", timeout=15_000)
    tokens = cost.locator("tr", has_text="training tokens D").locator("td")
    published = re.compile(r"2\.0 B \(published\)")
    expect(tokens).to_have_text([published, re.compile("not published"), re.compile("not published")])
    wall_clock = cost.locator("tr", has_text="wall clock").locator("td").first
    expect(wall_clock).to_contain_text(re.compile(r"\d (seconds|minutes|hours|days)"))
    point(page, 7, "facts-and-cost")

    choose_preset(page, "Tiny trio")  # base vs instruct: the same network with and without its template
    expect(page.get_by_role("tab", name="Outputs", exact=True)).to_have_attribute("aria-selected", "true")
    expect(model_box(page, 3)).to_have_value(paths["tiny-llama-chat"])
    run_and_wait(page)
    expect(page.locator("#pg-col-2 details.pg-prompt[open] pre")).to_contain_text("<|user|>")
    expect(page.locator("#pg-col-3 details.pg-prompt:not([open])")).to_have_count(1)
    point(page, 4, "base-vs-instruct")

    choose_preset(page, "Tiny decoding")  # greedy and sampled side by side, and the next-token view
    expect(page.get_by_role("tab", name="Next token", exact=True)).to_have_attribute("aria-selected", "true")
    top_k = page.locator("#pg-next-k input[type=number]")
    top_k.fill("3")
    top_k.press("Enter")
    run_and_wait(page)
    expect(page.locator("#pg-next .pg-next")).to_have_count(1)  # the same model twice is shown once
    expect(page.locator("#pg-next .pg-cand.pg-cut").first).to_be_visible()
    expect(page.locator("#pg-next .pg-next-summary")).to_contain_text("picks among 3 tokens")
    point(page, 5, "decoding")
    open_tab(page, "Outputs")
    expect(page.locator("#pg-col-1")).to_contain_text("(greedy)")
    expect(page.locator("#pg-col-2")).to_contain_text("(sampled")
