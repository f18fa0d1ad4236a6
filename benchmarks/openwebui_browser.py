"""Open WebUI's chat page driven by headless Chromium (Selenium), for the Open WebUI check.

The element ids and labels are Open WebUI 0.12's (``#email``, ``#password``,
``#model-selector-model-button``, ``#model-search-input``, ``#chat-input``,
``#send-message-button``, ``#response-content-container``). It renders a stream's
``delta.reasoning_content`` as a collapsible button above the answer: "Thinking…" while it
arrives, "Thought for N seconds" once the answer starts; opening it shows the text.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

CHROMIUM = Path(os.environ.get("REASON_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("REASON_CHROMEDRIVER", "/usr/bin/chromedriver"))
# Chromium in a container, as root, with no display and no network beyond localhost (the
# browser tests use these too: tests/browser/conftest.py).
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,900",
)
UI_TIMEOUT_S = 60.0  # a page step (sign-in, menus); the answer has its own timeout
NOTES_BUTTON = "Okay, Let's Go!"  # closes the release notes shown at a first sign-in
NOTES_WAIT_S = 15.0


@dataclass
class ChatResult:
    """What the browser saw."""

    signed_in: bool = False
    model_picked: str | None = None
    answer: str = ""
    reasoning_label: str = ""  # the collapsible's label: "Thought for N seconds"
    reasoning: str = ""  # its text once opened: the service's progress lines
    thinking_shown: bool = False  # the label said "Thinking…" while the graph ran
    answer_seconds: float | None = None  # from Send to the finished answer
    screenshot: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON fields."""
        return asdict(self)


@contextmanager
def chromium() -> Iterator[Any]:
    """A fresh headless Chromium with its own profile."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
        raise RuntimeError(f"{CHROMIUM} or {CHROMEDRIVER} missing: install Debian's chromium")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    with tempfile.TemporaryDirectory(prefix="openwebui-chromium-") as profile:
        options.add_argument(f"--user-data-dir={profile}")
        driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
        driver.set_page_load_timeout(UI_TIMEOUT_S)
        try:
            yield driver
        finally:
            driver.quit()


def _until(what: str, probe: Callable[[], Any], timeout: float = UI_TIMEOUT_S) -> Any:
    """Poll ``probe`` until it returns something truthy; its value, or TimeoutError."""
    from selenium.common.exceptions import WebDriverException

    deadline = time.monotonic() + timeout
    while True:
        try:
            value = probe()
        except WebDriverException:  # an element replaced while we read it: look again
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {what} after {timeout:.0f} s")
        time.sleep(0.5)


def _click(what: str, find: Callable[[], Any], timeout: float = UI_TIMEOUT_S) -> None:
    """Find and click in one probe, again while the element is missing, stale or covered."""

    def probe() -> bool:
        element = find()
        if element is None:
            return False
        element.click()
        return True

    _until(what, probe, timeout)


def _button(driver: Any, text: str) -> Any:
    """The first button labelled ``text`` (one XPath query: no element read twice)."""
    from selenium.webdriver.common.by import By

    found = driver.find_elements(By.XPATH, f'//button[normalize-space()="{text}"]')
    return found[0] if found else None


def _sign_in(driver: Any, url: str, email: str, password: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(f"{url}/auth")
    _until("sign-in form", lambda: driver.find_elements(By.ID, "email"))[0].send_keys(email)
    driver.find_element(By.ID, "password").send_keys(password)
    _click("Sign in button", lambda: _button(driver, "Sign in"))
    _until("chat input", lambda: driver.find_elements(By.ID, "chat-input"))
    # A first sign-in shows the release notes over the page, a moment after the page itself.
    try:
        _click("release notes", lambda: _button(driver, NOTES_BUTTON), NOTES_WAIT_S)
    except TimeoutError:
        logger.info("no release notes shown")
    _until("release notes closed", lambda: _button(driver, NOTES_BUTTON) is None)


def _pick_model(driver: Any, model_id: str) -> str:
    from selenium.webdriver.common.by import By

    _click("model selector", lambda: driver.find_element(By.ID, "model-selector-model-button"))
    search = _until("model search", lambda: driver.find_elements(By.ID, "model-search-input"))
    search[0].send_keys(model_id)
    option = f"[aria-label='Select {model_id} model']"
    _click(f"{model_id} in the list", lambda: driver.find_element(By.CSS_SELECTOR, option))
    label = driver.find_element(By.ID, "model-selector-model-button").get_attribute("aria-label")
    return str(label or "").removeprefix("Selected model: ")


def _last_answer(driver: Any) -> Any:
    from selenium.webdriver.common.by import By

    found = driver.find_elements(By.CSS_SELECTOR, "#response-content-container")
    return found[-1] if found else None


def _finished(driver: Any) -> bool:
    """The answer's action buttons appear once the stream has ended."""
    from selenium.webdriver.common.by import By

    return bool(driver.find_elements(By.CSS_SELECTOR, "button[aria-label='Regenerate']"))


def _type_question(driver: Any, question: str) -> bool:
    from selenium.webdriver.common.by import By

    box = driver.find_element(By.ID, "chat-input")
    box.click()
    box.send_keys(question)
    return True


def _toggle(driver: Any) -> Any:
    """The collapsible holding the reasoning, in the last answer (None when there is none)."""
    from selenium.webdriver.common.by import By

    container = _last_answer(driver)
    found = container.find_elements(By.CSS_SELECTOR, "button[aria-expanded]") if container else []
    return found[0] if found else None


def _read(driver: Any) -> tuple[str, str]:
    """The answer's text and the reasoning label (read anew: the page re-renders)."""
    from selenium.webdriver.common.by import By

    prose = _last_answer(driver).find_elements(By.CSS_SELECTOR, ".markdown-prose")
    toggle = _toggle(driver)
    return (prose[-1].text.strip() if prose else "", toggle.text.strip() if toggle else "")


def _open_reasoning(driver: Any) -> str:
    """Open the collapsible; the text inside it (the button's parent holds both)."""
    from selenium.webdriver.common.by import By

    toggle = _toggle(driver)
    if toggle.get_attribute("aria-expanded") != "true":
        toggle.click()
        return ""
    label = toggle.text.strip()
    return str(toggle.find_element(By.XPATH, "..").text).removeprefix(label).strip()


def ask_in_browser(
    url: str,
    email: str,
    password: str,
    model_id: str,
    question: str,
    timeout_s: float,
    screenshot: Path,
    debug_dir: Path,
) -> ChatResult:
    """Sign in, pick ``model_id``, ask ``question``, wait for the answer, open the reasoning.

    When the answer does not come, the page as it was goes to ``debug_dir/failed.png``.
    """
    from selenium.webdriver.common.by import By

    result = ChatResult()
    with chromium() as driver:
        _sign_in(driver, url, email, password)
        result.signed_in = True
        result.model_picked = _pick_model(driver, model_id)
        _until("question typed", lambda: _type_question(driver, question))
        sent = time.monotonic()
        _click("send button", lambda: driver.find_element(By.ID, "send-message-button"))
        logger.info("asked %s; waiting for the answer (up to %.0f s)", model_id, timeout_s)
        labels: list[str] = []  # the collapsible's labels while the answer comes

        def finished() -> bool:
            toggle = _toggle(driver)
            label = toggle.text.strip() if toggle else ""
            if label and label not in labels:
                labels.append(label)
            return _finished(driver)

        try:
            _until("finished answer", finished, timeout_s)
        except TimeoutError as ex:
            driver.save_screenshot(str(debug_dir / "failed.png"))
            shown = _last_answer(driver)
            raise TimeoutError(f"{ex}; the page shows: {shown.text if shown else None!r}") from ex
        result.answer_seconds = round(time.monotonic() - sent, 1)
        result.thinking_shown = any(label.startswith("Thinking") for label in labels)
        result.answer, result.reasoning_label = _until("answer", lambda: _read(driver))
        if result.reasoning_label:
            result.reasoning = _until("reasoning text", lambda: _open_reasoning(driver))
            time.sleep(1)  # the panel's opening transition, before the screenshot
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(screenshot))
        result.screenshot = str(screenshot)
    return result
