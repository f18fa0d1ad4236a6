"""Open WebUI in front of ``reason serve``, for real, driven by headless Chromium.

Starts ``reason serve`` (a fresh data directory that borrows the project's model files, an
API key), then Open WebUI from its own venv (``scripts/openwebui/env.sh``) with that server as
its one OpenAI connection, offline. Creates Open WebUI's first (admin) user through its
sign-up API, then in the browser: signs in, picks ``reason-full`` in the model selector, asks a
question and waits for the answer. It checks the answer, and that the service's progress (the
stream's ``delta.reasoning_content``) is where Open WebUI shows a model's thinking: the
collapsible "Thought for N seconds" above the answer, which it opens for the screenshot.
Writes ``benchmarks/results/openwebui-check-<date>.json`` and ``docs/img/openwebui-answer.png``.

Not part of CI: the Open WebUI venv is 2.8 GB (about 3 minutes to install), its start takes a
minute, and one ``full`` answer of the default model takes minutes on 2 cores.

    bash scripts/openwebui/check.sh                       # qwen2.5-1.5b, the default question
    bash scripts/openwebui/check.sh --model smollm2-135m --no-check-answer   # plumbing only
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import typer

from benchmarks.net import free_port, http_ready, stop_process, wait_until_ready
from benchmarks.openwebui_browser import CHROMEDRIVER, CHROMIUM, ChatResult, ask_in_browser
from benchmarks.reliability.server import Server, running

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv-openwebui"
RESULTS = ROOT / "benchmarks" / "results"
SCREENSHOT = ROOT / "docs" / "img" / "openwebui-answer.png"
MODEL_ID = "reason-full"
QUESTION = (
    "A shop sells pencils for 3 dollars each. Tom buys 4 pencils and pays with a 20 dollar "
    "bill. How many dollars of change does he get?"
)
EXPECTED = "8"
API_KEY = "sk-openwebui-check"  # reason serve's REASON_API_KEYS, Open WebUI's OPENAI_API_KEY
ADMIN = {"name": "Check", "email": "check@example.com", "password": "check-password-1"}
READY_TIMEOUT_S = 600.0  # Open WebUI's first start imports a lot (about a minute here)


def openwebui_env(data_dir: Path, api_base_url: str, api_key: str) -> dict[str, str]:
    """Open WebUI's settings: one OpenAI connection, offline, nothing but chat.

    docs/integrations.md#open-webui lists the same variables.
    """
    off = "false"
    return {
        "DATA_DIR": str(data_dir),
        "WEBUI_SECRET_KEY": "openwebui-check-secret",
        # The connection: reason serve's /v1 and its key; no Ollama.
        "ENABLE_OPENAI_API": "true",
        "OPENAI_API_BASE_URL": api_base_url,
        "OPENAI_API_KEY": api_key,
        "ENABLE_OLLAMA_API": off,
        # Offline: no model hub, no version check, no local embedding model to download.
        "OFFLINE_MODE": "true",
        "HF_HUB_OFFLINE": "1",
        "ENABLE_VERSION_UPDATE_CHECK": off,
        "RAG_EMBEDDING_MODEL": "",
        "BYPASS_EMBEDDING_AND_RETRIEVAL": "true",
        "ENABLE_WEB_SEARCH": off,
        "ENABLE_CODE_INTERPRETER": off,
        "ENABLE_CODE_EXECUTION": off,
        # Open WebUI's side tasks would each send the question's model a prompt of its own,
        # and every one would be a full reasoning run: titles, tags, follow-ups, queries.
        "ENABLE_TITLE_GENERATION": off,
        "ENABLE_TAGS_GENERATION": off,
        "ENABLE_FOLLOW_UP_GENERATION": off,
        "ENABLE_AUTOCOMPLETE_GENERATION": off,
        "ENABLE_SEARCH_QUERY_GENERATION": off,
        "ENABLE_RETRIEVAL_QUERY_GENERATION": off,
        "ANONYMIZED_TELEMETRY": off,
        "SCARF_NO_ANALYTICS": "true",
        "DO_NOT_TRACK": "true",
    }


@contextmanager
def open_webui(data_dir: Path, api_base_url: str, log: Path) -> Iterator[str]:
    """``open-webui serve`` on a loopback port until the block ends; yields its URL."""
    port = free_port()
    env = {**os.environ, **openwebui_env(data_dir, api_base_url, API_KEY)}
    with log.open("ab") as sink:
        proc = subprocess.Popen(
            [str(VENV / "bin" / "open-webui"), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=data_dir,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(
            http_ready(f"{url}/health"),
            "open-webui",
            READY_TIMEOUT_S,
            process=proc,
            log=log,
            tail=1500,
            interval_s=1.0,
        )
        yield url
    finally:
        stop_process(proc, 30)


def sign_up_admin(url: str) -> None:
    """The first account Open WebUI creates is its admin (its sign-up API, no browser)."""
    reply = httpx.post(f"{url}/api/v1/auths/signup", json=ADMIN, timeout=60)
    reply.raise_for_status()
    models = httpx.get(
        f"{url}/api/models", headers={"Authorization": f"Bearer {reply.json()['token']}"}
    )
    ids = [m["id"] for m in models.json()["data"]]
    if MODEL_ID not in ids:
        raise RuntimeError(f"Open WebUI lists no {MODEL_ID} from reason serve: {ids}")


def answer_matches(answer: str, expected: str) -> bool:
    """The expected number appears in the answer as a number of its own."""
    return re.search(rf"(?<![\d.]){re.escape(expected)}(?![\d])", answer) is not None


def run_check(
    model: str, question: str, expected: str | None, timeout_s: float, work: Path, shot: Path
) -> dict[str, Any]:
    """One check; the result's fields go into the dated JSON."""
    models_dir = Path(os.environ.get("REASON_DATA_DIR", ROOT / "indexes")).resolve() / "models"
    reason_dir = work / "reason"
    reason_dir.mkdir()
    # A fresh memory, the project's model files (nothing is written beside them).
    (reason_dir / "models").symlink_to(models_dir, target_is_directory=True)
    result: dict[str, Any] = {"model": model, "model_id": MODEL_ID, "question": question}
    t0 = time.monotonic()
    server = Server(reason_dir, model, env={"REASON_API_KEYS": API_KEY})
    with running(server):
        result["reason_serve_start_seconds"] = round(time.monotonic() - t0, 1)
        t1 = time.monotonic()
        (work / "openwebui").mkdir()
        with open_webui(work / "openwebui", f"{server.url}/v1", work / "openwebui.log") as url:
            result["openwebui_start_seconds"] = round(time.monotonic() - t1, 1)
            sign_up_admin(url)
            chat: ChatResult = ask_in_browser(
                url, ADMIN["email"], ADMIN["password"], MODEL_ID, question, timeout_s, shot, work
            )
    result.update(chat.as_dict())
    if shot.resolve().is_relative_to(ROOT):
        result["screenshot"] = str(shot.resolve().relative_to(ROOT))
    checks = {
        "signed_in": chat.signed_in,
        "model_picked": chat.model_picked == MODEL_ID,
        "answer_shown": bool(chat.answer.strip()),
        "thinking_while_running": chat.thinking_shown,
        "reasoning_shown": chat.reasoning_label.startswith("Thought for")
        and "Recalled " in chat.reasoning,
    }
    if expected is not None:
        result["expected"] = expected
        checks["answer_correct"] = answer_matches(chat.answer, expected)
    result["checks"] = checks
    result["passed"] = all(checks.values())
    return result


def versions() -> dict[str, str | None]:
    """open-webui's version (its own venv), the browser's and its driver's."""
    owui = "import importlib.metadata as m; print(m.version('open-webui'))"
    return {
        "open_webui": _first_line([str(VENV / "bin" / "python"), "-c", owui]),
        "chromium": _first_line([str(CHROMIUM), "--version"]),
        "chromedriver": _first_line([str(CHROMEDRIVER), "--version"]),
        "selenium": importlib.metadata.version("selenium"),
    }


def _first_line(command: list[str]) -> str | None:
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=60).stdout
    except OSError:
        return None
    return out.strip().splitlines()[0] if out.strip() else None


def main(
    model: str = typer.Option("qwen2.5-1.5b", help="REASON_MODEL of the reason serve started."),
    question: str = typer.Option(QUESTION, help="What to ask in Open WebUI."),
    expect: str = typer.Option(EXPECTED, help="The answer the question has."),
    check_answer: bool = typer.Option(True, help="Fail when the answer is not --expect."),
    timeout: float = typer.Option(1200.0, help="Seconds to wait for the answer."),
    screenshot: Path = typer.Option(SCREENSHOT, help="Where the screenshot goes."),
    results: Path = typer.Option(RESULTS, help="Folder of the dated results JSON."),
    keep: bool = typer.Option(False, help="Keep the temporary folder (logs, data)."),
) -> None:
    """Ask ``reason-full`` a question through Open WebUI in Chromium; write dated results."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if not (VENV / "bin" / "open-webui").exists():
        raise typer.BadParameter(f"{VENV} is missing: run scripts/openwebui/env.sh")
    day = dt.date.today().isoformat()
    work = Path(tempfile.mkdtemp(prefix="openwebui-check-"))
    started = time.monotonic()
    report: dict[str, Any] = {"check": "openwebui", "date": day}
    try:
        report.update(
            run_check(model, question, expect if check_answer else None, timeout, work, screenshot)
        )
    except Exception as ex:  # noqa: BLE001 - any failure is the check's result, recorded
        logger.exception("the check failed")
        first = str(ex).splitlines()[0] if str(ex) else ""
        report.update({"passed": False, "error": f"{type(ex).__name__}: {first}"[:2000]})
    report["seconds"] = round(time.monotonic() - started, 1)
    report["versions"] = versions()
    report["git_commit"] = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    if keep or not report["passed"]:
        report["work_dir"] = str(work)  # both servers' logs, data, failed.png
    else:
        shutil.rmtree(work, ignore_errors=True)
    results.mkdir(parents=True, exist_ok=True)
    out = results / f"openwebui-check-{day}.json"
    out.write_text(json.dumps(report, indent=1) + "\n")
    verdict = "passed" if report["passed"] else "FAILED"
    typer.echo(f"openwebui-check {verdict} in {report['seconds']} s: {out}")
    if not report["passed"]:
        raise typer.Exit(1)


if __name__ == "__main__":
    typer.run(main)
