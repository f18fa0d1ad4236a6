"""The web page at ``/``, in a real headless Chromium, against a real ``reason serve``.

The server is the command line's ``serve`` in a child process (``python -m api serve``), on
the tiny SmolLM2-135M with a real memory in a temporary directory, and with an API key and
an admin key as a deployment would have. The page asks, the trace fills in from the stream,
the answer appears, feedback changes memory, the memory browser opens and deletes a record;
a wrong key gets the 401 in words; Stop, a full queue (429) and a server that went away each
end the run with a line, never a spinner. It screenshots a question in flight, the answer and
the memory browser; ``scripts/screenshots.sh`` takes the docs' pictures with this module's
``reason_serve`` and page helpers, on the default model.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from benchmarks.net import stop_process
from tests.support.servers import free_port

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
SMALL_MODEL = "smollm2-135m"  # the catalog name of the session's small_model_path
KEY = "sk-browser-key"
ADMIN_KEY = "sk-browser-admin"
QUESTION = "Tom has 3 apples and buys 2 more. How many apples does he have now?"
# adaptive@8 draws 3 paths, then one at a time: the vote bars grow while the run is in
# flight. Short paths keep the test quick on two CPU cores.
MODEL = "reason-adaptive"
MAX_TOKENS = "48"
ANSWER_WITHIN_S = 240.0
# Long enough that the tiny model is still writing when the page stops or is turned away.
LONG: dict[str, Any] = {
    "model": "reason-cot",
    "max_tokens": 300,
    "messages": [{"role": "user", "content": "Write a long story about a lighthouse keeper."}],
}
START_WITHIN_S = 180.0

T = TypeVar("T")


def wait_for(what: Callable[[], T], within: float, message: str, poll: float = 0.05) -> T:
    """Poll ``what`` until it returns something truthy; fail with ``message`` after ``within``."""
    deadline = time.monotonic() + within
    while True:
        value = what()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{message} (waited {within:.0f} s)")
        time.sleep(poll)


def visible(driver: Any, css: str) -> Any:
    """The first displayed element matching ``css``, or None."""
    from selenium.common.exceptions import StaleElementReferenceException

    try:
        for element in driver.find_elements("css selector", css):
            if element.is_displayed():
                return element
    except StaleElementReferenceException:
        return None
    return None


def text_of(driver: Any, css: str) -> str:
    """The text of the first element matching ``css`` ('' when there is none)."""
    elements = driver.find_elements("css selector", css)
    return elements[0].text if elements else ""


def open_page(driver: Any, url: str) -> None:
    driver.get(url + "/")
    wait_for(
        lambda: driver.execute_script("return document.documentElement.dataset.ready"),
        15,
        "the page's script did not start",
    )


def save_keys(driver: Any, key: str, admin: str = "") -> None:
    """Type the keys into the page's settings and save them (local storage)."""
    if not visible(driver, "#api-key"):
        driver.find_element("css selector", "#settings summary").click()
    for field, value in (("api-key", key), ("admin-key", admin)):
        element = driver.find_element("id", field)
        element.clear()
        element.send_keys(value)
    driver.find_element("id", "save-keys").click()


def last_class(driver: Any, css: str) -> str:
    """The class attribute of ``css`` in the last question of the thread."""
    found = driver.find_elements("css selector", f".turn:last-child {css}")
    return (found[0].get_attribute("class") or "") if found else ""


def models_listed(driver: Any) -> bool:
    return len(driver.find_elements("css selector", "#model option")) > 5


@contextmanager
def reason_serve(model: Path, work: Path, **settings: str) -> Iterator[tuple[str, Any]]:
    """Run ``python -m api serve`` on ``model`` until the block ends: (base URL, process).

    ``settings`` are REASON_* variables (``API_KEYS="k"``), which override the tests' own
    (the tiny model by name, 2 threads, a 2048-token context); the caller's own REASON_* are
    not passed on, and cwd is ``work``, so no developer's .env is read.
    """
    # The model by its catalog name (as a person would run it), found already verified in
    # the data directory's models/: links to the session's file, nothing is downloaded.
    models = work / "data" / "models"
    models.mkdir(parents=True)
    for name in (model.name, f"{model.name}.verified"):
        if (model.parent / name).exists():
            (models / name).symlink_to(model.parent / name)
    env = {k: v for k, v in os.environ.items() if not k.startswith("REASON_")}
    env.update(
        PYTHONPATH=str(ROOT),
        REASON_MODEL=SMALL_MODEL,
        REASON_DATA_DIR=str(work / "data"),
        REASON_THREADS="2",
        REASON_N_CTX="2048",
        REASON_MAX_N="8",
    )
    env.update({f"REASON_{k}": v for k, v in settings.items()})
    port = free_port()
    log_path = work / "serve.log"
    command = [sys.executable, "-m", "api", "serve", "--host", "127.0.0.1", "--port", str(port)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"

        def up() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"reason serve exited:\n{log_path.read_text()}")
            try:
                return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        try:
            wait_for(up, START_WITHIN_S, "reason serve did not start", poll=0.25)
            yield url, process
        finally:
            stop_process(process, 30)


@pytest.fixture(scope="module")
def server(small_model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``reason serve`` on the tiny model, with memory, an API key and an admin key."""
    work = tmp_path_factory.mktemp("web")
    # An admin key must be a valid API key as well (api/http/auth.py checks both).
    keys = {"API_KEYS": f"{KEY},{ADMIN_KEY}", "ADMIN_API_KEYS": ADMIN_KEY}
    with reason_serve(small_model_path, work, **keys) as (url, _process):
        yield url


@pytest.mark.timeout(600)
def test_ask_watch_the_trace_open_the_path_and_correct_it(
    browser: Any, server: str, shots: Path
) -> None:
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    open_page(browser, server)
    save_keys(browser, KEY, ADMIN_KEY)
    # The configurations come from /v1/models; the default is reason-full.
    wait_for(lambda: models_listed(browser), 15, "the configurations were not listed")
    wait_for(lambda: not visible(browser, "#api-key"), 5, "a working key left the settings open")
    model = Select(browser.find_element("id", "model"))
    assert model.first_selected_option.get_attribute("value") == "reason-full"
    before = wait_for(lambda: text_of(browser, "#mem-problems").rstrip("…"), 15, "no memory count")
    assert before == "0 problems"

    model.select_by_value(MODEL)
    browser.find_element("id", "max-tokens").send_keys(MAX_TOKENS)
    box = browser.find_element("id", "question")
    box.send_keys(QUESTION)
    box.send_keys(Keys.ENTER)  # Enter sends

    # The live trace: a first finished path (or the principle) before the answer.
    first = wait_for(
        lambda: visible(browser, ".paths .path") or visible(browser, ".principle p"),
        ANSWER_WITHIN_S,
        "no path or principle appeared",
    )
    assert first.text
    wait_for(lambda: visible(browser, ".bar-row"), ANSWER_WITHIN_S, "no vote bars appeared")
    browser.execute_script(
        "arguments[0].scrollIntoView({block: 'start'})",
        browser.find_element("css selector", ".turn"),
    )
    browser.save_screenshot(str(shots / "web-in-flight.png"))

    answer = wait_for(lambda: visible(browser, ".answer"), ANSWER_WITHIN_S, "no answer appeared")
    assert answer.text.strip()
    assert "Answered" in text_of(browser, ".run-status")
    assert browser.find_elements("css selector", ".vote .bar-row.winner")

    # The winning path opens (keyboard: focus its summary and press Enter).
    summary = browser.find_element("css selector", ".winning summary")
    summary.send_keys(Keys.ENTER)
    detail = wait_for(lambda: visible(browser, ".winning-body .path-detail"), 5, "path closed")
    assert "path" in detail.text and "tokens" in detail.text
    # Its reasoning itself: the prose (x_rationale) or the program.
    assert detail.find_elements("css selector", "pre.path-text, pre.program")
    assert "does not carry" not in detail.text
    browser.execute_script(
        "arguments[0].scrollIntoView({block: 'end'})",
        browser.find_element("css selector", ".answer-box"),
    )
    browser.save_screenshot(str(shots / "web-answer.png"))

    # "Correct": memory stores the answer, and the count in the page changes.
    browser.find_element("css selector", ".fb-correct").click()
    said = wait_for(lambda: text_of(browser, ".fb-status"), 30, "no word on the feedback")
    wait_for(lambda: "Sending" not in text_of(browser, ".fb-status"), 30, "feedback hangs")
    said = text_of(browser, ".fb-status")
    assert "memory stored this answer as record #" in said, said
    wait_for(lambda: text_of(browser, "#mem-problems") == "1 problem", 15, "count unchanged")

    # The memory browser: search, open the stored record.
    browser.find_element("id", "mem-q").send_keys("apples", Keys.ENTER)
    hit = wait_for(lambda: visible(browser, "#mem-results .hit"), 30, "search found nothing")
    assert "apples" in hit.text
    hit.click()
    record = wait_for(lambda: visible(browser, "#mem-record-body dl"), 15, "record not shown")
    assert "Tom has 3 apples" in record.text and "feedback" in record.text
    browser.save_screenshot(str(shots / "web-memory.png"))

    # Deleting needs the admin key: the API key alone gets the 403 in words; then two steps.
    save_keys(browser, KEY)
    browser.find_element("id", "mem-delete").click()
    browser.find_element("id", "mem-delete-confirm").click()
    said = wait_for(lambda: text_of(browser, "#mem-status"), 15, "no word on the delete")
    assert "needs an admin key (403" in said, said
    save_keys(browser, KEY, ADMIN_KEY)
    browser.find_element("id", "mem-delete").click()
    browser.find_element("id", "mem-delete-confirm").click()
    wait_for(lambda: "Deleted record #" in text_of(browser, "#mem-status"), 15, "not deleted")
    wait_for(lambda: text_of(browser, "#mem-problems") == "0 problems", 15, "count unchanged")


@pytest.mark.timeout(300)
def test_a_wrong_key_is_a_401_in_words(browser: Any, server: str) -> None:
    from selenium.webdriver.common.keys import Keys

    # The page itself needs no key, loads nothing from another origin, and is no API route.
    page = httpx.get(f"{server}/")
    assert (
        page.status_code == 200 and "default-src 'self'" in page.headers["content-security-policy"]
    )
    assert "/" not in httpx.get(f"{server}/openapi.json").json()["paths"]

    open_page(browser, server)
    # No key yet: listing the configurations is refused, and the page says what to do.
    said = wait_for(lambda: text_of(browser, "#error"), 15, "no word on the missing key")
    assert "needs an API key (401" in said, said
    assert visible(browser, "#api-key")  # the settings opened themselves

    save_keys(browser, "sk-wrong")
    box = browser.find_element("id", "question")
    box.send_keys("What is 2 + 3?", Keys.ENTER)
    error = wait_for(lambda: visible(browser, ".run-error"), 30, "no error line for the run")
    assert "The API key was refused (401 Unauthorized)" in error.text, error.text
    assert "busy" not in (
        browser.find_element("css selector", ".run-status").get_attribute("class") or ""
    )
    assert browser.find_element("id", "ask").is_enabled()  # no frozen spinner

    # The right key works, and stays in the browser's local storage across a reload.
    save_keys(browser, KEY)
    wait_for(lambda: models_listed(browser), 15, "not listed with the right key")
    open_page(browser, server)
    wait_for(lambda: models_listed(browser), 15, "the key was not kept")
    assert not text_of(browser, "#error")

    # Readable at phone width: nothing wider than the screen (no sideways scrolling).
    browser.set_window_size(390, 844)
    width = browser.execute_script(
        "return [document.documentElement.scrollWidth, window.innerWidth]"
    )
    assert width[0] <= width[1], width


@pytest.mark.timeout(300)
def test_stop_busy_and_down_are_a_line_in_the_page(
    browser: Any, small_model_path: Path, tmp_path: Path
) -> None:
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    # One question at a time and nobody may wait: a second question gets 429 + Retry-After.
    with reason_serve(small_model_path, tmp_path, QUEUE_SIZE="0", GRAPH="greedy") as (url, proc):
        open_page(browser, url)
        wait_for(lambda: models_listed(browser), 15, "the configurations were not listed")
        Select(browser.find_element("id", "model")).select_by_value(LONG["model"])
        browser.find_element("id", "max-tokens").send_keys(str(LONG["max_tokens"]))

        def ask(question: str) -> None:
            box = browser.find_element("id", "question")
            box.send_keys(question, Keys.ENTER)

        def last(css: str) -> str:
            found = browser.find_elements("css selector", f".turn:last-child {css}")
            return found[0].text if found else ""

        # Stop aborts the fetch: the run ends with a line; the API cancels the run, which frees
        # the only slot (the occupant below is admitted once it has).
        ask(LONG["messages"][0]["content"])
        under_way = ("Waiting", "Working", "Sampling")
        wait_for(lambda: any(w in last(".run-status") for w in under_way), 60, "not under way")
        browser.find_element("id", "stop").click()
        wait_for(lambda: "Stopped" in last(".run-error"), 15, "Stop said nothing")
        assert browser.find_element("id", "ask").is_enabled()

        # Busy: another client's long answer holds the only slot.
        started, release = threading.Event(), threading.Event()

        def occupy() -> None:
            # The stopped run frees its slot at its next graph step: retry until admitted.
            for _ in range(240):
                with httpx.stream(
                    "POST", f"{url}/v1/chat/completions", json={**LONG, "stream": True}, timeout=120
                ) as r:
                    if r.status_code == 429:
                        time.sleep(0.5)
                        continue
                    lines = r.iter_lines()  # kept: dropping it would close the stream
                    next(lines)  # admitted: the run is under way
                    started.set()
                    release.wait(60)  # leaving closes the stream, which cancels the run
                    return

        occupant = threading.Thread(target=occupy, daemon=True)
        occupant.start()
        assert started.wait(60), "the occupying request was not admitted"
        ask("What is 2 + 3?")
        said = wait_for(lambda: last(".run-error"), 30, "no line for the 429")
        assert "busy" in said and "(429)" in said and "Try again in" in said, said
        release.set()
        occupant.join(30)

        # Down: the server goes away; the next question says so instead of spinning.
        proc.terminate()
        proc.wait(30)
        ask("What is 2 + 3?")
        said = wait_for(lambda: last(".run-error"), 30, "no line for a server that is down")
        assert "cannot be reached" in said, said
        assert "busy" not in (last_class(browser, ".run-status") or "")
        assert browser.find_element("id", "ask").is_enabled()
