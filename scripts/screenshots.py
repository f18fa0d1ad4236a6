"""Take the web page's screenshots for the README and docs/usage.md (docs/img/web-*.png).

``reason serve`` runs on the default model (``qwen2.5-1.5b``; ``--model`` names another) in a
throwaway data directory whose ``models/`` links to the real one, so no memory is written
outside it. Headless Chromium asks a word problem on ``reason-full`` and saves three pictures:

- ``web-in-flight.png``: the question in flight, the graph's steps so far and the progress
  lines, while the model writes its programs;
- ``web-answer.png``: the whole run, from the page's top to the end of the answer: the
  agreeing program paths and their output, the vote, the verification, what memory did, and
  the answer with the winning program and its output opened;
- ``web-memory.png``: the memory browser showing the run's record after the **Correct**
  button.

It stops with a line (and takes no answer picture) when the programs do not agree on a
program-path answer: try another ``--question``. The page's helpers and ``reason serve`` come
from the browser tests (tests/browser/test_web_page.py). Run through scripts/screenshots.sh.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import typer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.backends.catalog import DEFAULT_MODEL  # noqa: E402
from agent.backends.provision import catalog_entry  # noqa: E402
from benchmarks.openwebui_browser import CHROMEDRIVER, CHROMIUM, FLAGS  # noqa: E402
from tests.browser.test_web_page import (  # noqa: E402
    models_listed,
    open_page,
    reason_serve,
    text_of,
    visible,
    wait_for,
)

QUESTION = (
    "A baker makes 24 muffins and sells them in boxes of 4. Each box costs $3. "
    "How much money does she make if she sells all the boxes?"
)
SEARCH = "muffins"  # a word of QUESTION, to find its record in the memory browser
CONFIG = "reason-full"  # the page's default configuration
ANSWER_WITHIN_S = 900.0  # a 1.5B model on two shared CPU cores: a minute or two, often
IN_FLIGHT_AFTER_S = 4.0  # into the sampling step, for the in-flight picture
WIDTH, HEIGHT = 1280, 900  # the window (the browser tests' --window-size)
MARGIN = 16  # below the answer box in the answer picture


def chrome() -> Any:
    """A headless Chromium with the browser tests' flags."""
    if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
        raise SystemExit(f"screenshots: {CHROMIUM} or {CHROMEDRIVER} missing")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    return driver


def scroll_to(driver: Any, css: str, block: str) -> None:
    driver.execute_script(
        f"arguments[0].scrollIntoView({{block: '{block}'}})",
        driver.find_element("css selector", css),
    )


def take(driver: Any, url: str, question: str, search: str, out: Path) -> None:
    from selenium.webdriver.common.keys import Keys

    open_page(driver, url)
    wait_for(lambda: models_listed(driver), 15, "the configurations were not listed")
    wait_for(lambda: text_of(driver, "#mem-problems").rstrip("…"), 15, "no memory count")
    box = driver.find_element("id", "question")
    box.send_keys(question, Keys.ENTER)

    # In flight: the steps so far and their seconds while the model writes the programs
    # (reason-full draws its three programs in one batch: they arrive together, just before
    # the answer), the progress lines opened.
    wait_for(lambda: visible(driver, ".steps li.running"), ANSWER_WITHIN_S, "no step started")
    wait_for(lambda: "sample" in text_of(driver, ".run-status"), ANSWER_WITHIN_S, "no sampling")
    time.sleep(IN_FLIGHT_AFTER_S)
    if not visible(driver, ".answer"):
        driver.find_element("css selector", ".turn .log-box summary").click()
        scroll_to(driver, ".turn", "start")
        driver.save_screenshot(str(out / "web-in-flight.png"))
    else:
        print("screenshots: the answer came before an in-flight picture; web-in-flight.png kept")

    wait_for(
        lambda: visible(driver, ".answer") or text_of(driver, ".run-error"),
        ANSWER_WITHIN_S,
        "no answer appeared",
    )
    if error := text_of(driver, ".run-error"):
        raise SystemExit(f"screenshots: the run ended with an error: {error}")
    driver.find_element("css selector", ".turn .log-box summary").click()  # folded again
    answer = text_of(driver, ".answer")
    verification = text_of(driver, ".verification")
    # The winning path and its program's output, opened.
    driver.find_element("css selector", ".winning summary").click()
    detail = wait_for(lambda: visible(driver, ".winning-body .path-detail"), 5, "path closed")
    if not detail.find_elements("css selector", "pre.program") or "printed:" not in detail.text:
        raise SystemExit(
            f"screenshots: the winning path is not a program ({answer!r}); try another --question"
        )
    if "agreeing paths" not in verification:
        raise SystemExit(
            f"screenshots: no agreeing paths ({verification!r}); try another --question"
        )
    print(f"screenshots: answer {answer!r}\n{verification}")
    # The whole run in one picture: from the page's top to the end of the answer box.
    driver.execute_script("document.activeElement.blur(); window.scrollTo(0, 0)")
    bottom = driver.execute_script(
        "return Math.ceil(document.querySelector('.turn .answer-box')"
        ".getBoundingClientRect().bottom + window.scrollY)"
    )
    chrome_height = driver.execute_script("return window.outerHeight - window.innerHeight")
    driver.set_window_size(WIDTH, bottom + MARGIN + chrome_height)
    time.sleep(0.5)
    driver.save_screenshot(str(out / "web-answer.png"))
    driver.set_window_size(WIDTH, HEIGHT)

    # "Correct", then the memory browser with the record.
    driver.find_element("css selector", ".fb-correct").click()
    wait_for(lambda: text_of(driver, ".fb-status"), 30, "no word on the feedback")
    wait_for(lambda: "Sending" not in text_of(driver, ".fb-status"), 30, "feedback hangs")
    print(f"screenshots: feedback: {text_of(driver, '.fb-status')}")
    driver.find_element("id", "mem-q").send_keys(search, Keys.ENTER)
    hit = wait_for(lambda: visible(driver, "#mem-results .hit"), 30, "search found nothing")
    hit.click()
    wait_for(lambda: visible(driver, "#mem-record-body dl"), 15, "record not shown")
    scroll_to(driver, ".turn .fb-status", "end")  # what the Correct button did, in view
    driver.save_screenshot(str(out / "web-memory.png"))


def main(
    model: str = typer.Option(DEFAULT_MODEL, help="Catalog name of the model."),
    question: str = typer.Option(QUESTION, help="The word problem to ask."),
    search: str = typer.Option(SEARCH, help="A word of the question (the memory search)."),
    models_dir: Path = typer.Option(ROOT / "indexes" / "models", help="Where the models are."),
    out: Path = typer.Option(ROOT / "docs" / "img", help="Where the pictures go."),
    threads: str = typer.Option(os.environ.get("REASON_THREADS", "2"), help="Model threads."),
) -> None:
    """Take the web page's screenshots for the README and docs/usage.md."""
    path = models_dir.resolve() / catalog_entry(model).filename
    if not path.exists():
        raise SystemExit(f"screenshots: no {path}; run: .venv/bin/reason models pull {model}")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="reason-shots-") as tmp:
        settings = {"MODEL": model, "THREADS": threads, "N_CTX": "4096"}
        with reason_serve(path, Path(tmp), **settings) as (url, _process):
            driver = chrome()
            try:
                take(driver, url, question, search, out)
            finally:
                driver.quit()
    for name in ("web-in-flight.png", "web-answer.png", "web-memory.png"):
        print(out / name)


if __name__ == "__main__":
    typer.run(main)
