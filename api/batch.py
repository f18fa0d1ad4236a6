"""Batch question answering over JSONL: ``reason batch IN.jsonl -o OUT.jsonl``.

Input lines are either simple ``{"id", "question", "answer"?}`` objects or OpenAI Batch API
request lines (``custom_id``, ``method``, ``url``, ``body``); each gets one output line in
the matching shape (OpenAI batch output lines for the latter). A bad line gets an error
record; the rest are answered.

Resumable: every output line is written with one ``write`` of a complete line to a file
opened unbuffered in append mode, so a killed run loses at most the lines in flight and never
leaves half a line; a rerun truncates a trailing partial line (should one exist), skips the
ids already written and answers the rest.

Where the questions are answered is a ``Dispatch``: the in-process service's work queue
(``ServiceDispatch``), or Ray workers (``--ray``, ``api/batch_ray.py``); the reading, skipping
and writing above are the same for both (``run_lines``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import typer
from pydantic import ValidationError

from agent.config import GraphConfig
from agent.errors import ConfigError
from agent.extract import same_answer
from agent.reasoner import Answer
from api.errors import ApiError, describe
from api.schemas import ChatCompletionRequest, chat_ask, completion_body
from service.compose import Ask, Service
from service.queue import Cancellation

logger = logging.getLogger(__name__)

Kind = Literal["simple", "openai"]
CHAT_URL = "/v1/chat/completions"


@dataclass
class Item:
    """One input line, parsed (or the reason it could not be): what its ``Ask`` holds.

    ``config`` and ``overrides`` are the ``Ask``'s: an OpenAI line's configuration name and
    its request's fields, which the service answering it resolves; a simple line's is the
    command's configuration, already resolved.
    """

    key: str
    kind: Kind
    line: int
    question: str = ""
    label: str | None = None
    config: GraphConfig | str | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    model: str = ""
    n: int = 1
    history: list[dict[str, str]] = field(default_factory=list)
    error: tuple[int, dict[str, Any]] | None = None


@dataclass
class BatchReport:
    """What a run did; ``accuracy`` covers every labelled line in the output file."""

    total: int = 0
    skipped: int = 0
    answered: int = 0
    errors: int = 0
    labelled: int = 0
    correct: int = 0
    interrupted: bool = False
    lost: int = 0

    @property
    def accuracy(self) -> float | None:
        """Share of labelled lines answered correctly, or None without labels."""
        return self.correct / self.labelled if self.labelled else None


def _error(status: int, message: str, code: str) -> tuple[int, dict[str, Any]]:
    kind = "invalid_request_error" if status < 500 else "server_error"
    return status, {"error": {"message": message, "type": kind, "param": None, "code": code}}


Resolve = Callable[[Ask], GraphConfig]


def parse_line(
    text: str, line: int, default: GraphConfig, kind_hint: Kind, resolve: Resolve
) -> Item:
    """Parse one input line; problems become an ``Item`` carrying an error.

    ``resolve`` is the answering service's (``Dispatch.resolve``): an OpenAI line whose
    request the configuration refuses gets its error line here, as the endpoint's 422.
    """
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as ex:
        return Item(
            f"line-{line}",
            kind_hint,
            line,
            error=_error(400, f"invalid JSON: {ex}", "invalid_json"),
        )
    if not isinstance(obj, dict):
        return Item(
            f"line-{line}",
            kind_hint,
            line,
            error=_error(400, "a line must be a JSON object", "invalid_line"),
        )
    if "custom_id" in obj:
        return _parse_openai(obj, line, resolve)
    key = obj.get("id")
    key = f"line-{line}" if key is None else str(key)
    question, label = obj.get("question"), obj.get("answer")
    if not isinstance(question, str) or not question.strip():
        return Item(
            key,
            "simple",
            line,
            error=_error(400, "'question' must be non-empty text", "invalid_question"),
        )
    return Item(
        key,
        "simple",
        line,
        question=question,
        label=None if label is None else str(label),
        config=default,
        model=default.name,
    )


def _parse_openai(obj: dict[str, Any], line: int, resolve: Resolve) -> Item:
    key = str(obj["custom_id"])
    if obj.get("method", "POST") != "POST" or obj.get("url") != CHAT_URL:
        return Item(
            key,
            "openai",
            line,
            error=_error(400, f"only POST {CHAT_URL} is supported", "unsupported_url"),
        )
    try:
        request = ChatCompletionRequest.model_validate(obj.get("body") or {})
        ask = chat_ask(request)
        resolve(ask)  # checked here; the service answering the line resolves it again
    except ValidationError as ex:
        first = ex.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        return Item(
            key, "openai", line, error=_error(422, f"{where}: {first['msg']}", "invalid_value")
        )
    except (ApiError, ConfigError) as ex:
        return Item(key, "openai", line, error=describe(ex))
    return Item(
        key,
        "openai",
        line,
        question=ask.question,
        config=ask.config,
        overrides=dict(ask.overrides),
        model=request.model,
        n=request.n,
        history=[dict(turn) for turn in ask.history or ()],
    )


def output_line(
    item: Item, answer: Answer | None, error: tuple[int, dict[str, Any]] | None
) -> dict[str, Any]:
    """The output record for an item: OpenAI batch output, or the simple shape."""
    if item.kind == "openai":
        if answer is not None:
            response = {
                "status_code": 200,
                "request_id": answer.id,
                "body": completion_body(answer, item.model, item.n),
            }
        else:
            assert error is not None
            response = {"status_code": error[0], "request_id": f"req-{item.line}", "body": error[1]}
        return {
            "id": f"batch_req_{uuid.uuid4().hex[:24]}",
            "custom_id": item.key,
            "response": response,
            "error": None,
        }
    record: dict[str, Any] = {"id": item.key, "question": item.question or None}
    if answer is None:
        assert error is not None
        record.update(answer=None, expected=item.label, correct=None, error=error[1]["error"])
        return record
    ev = answer.trace.get("verification") or {}
    vote = answer.trace.get("vote")
    record.update(
        answer=answer.answer,
        content=answer.content,
        expected=item.label,
        correct=None if item.label is None else same_answer(answer.answer, item.label),
        verified=answer.verified,
        confidence=ev["confidence"]
        if ev.get("confidence") is not None
        else (vote["share"] if vote else None),
        votes=vote["votes"] if vote else None,
        paths=vote["paths"] if vote else None,
        config=answer.config,
        answer_id=answer.id,
        usage=answer.usage,
        seconds=round(answer.seconds, 3),
        error=None,
    )
    return record


def done_keys(path: Path) -> set[str]:
    """Keys already written to ``path``; a trailing partial line is cut off first."""
    if not path.exists():
        return set()
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        keep = data.rfind(b"\n") + 1
        logger.warning("cutting a partial last line (%d bytes) off %s", len(data) - keep, path)
        with path.open("r+b") as f:
            f.truncate(keep)
        data = data[:keep]
    keys = set()
    for raw in data.splitlines():
        try:
            record = json.loads(raw)
        except json.JSONDecodeError:
            continue
        key = record.get("custom_id", record.get("id"))
        if key is not None:
            keys.add(str(key))
    return keys


def score(path: Path) -> tuple[int, int]:
    """(labelled, correct) over the simple records of an output file."""
    labelled = correct = 0
    if path.exists():
        for raw in path.read_bytes().splitlines():
            record = json.loads(raw)
            if record.get("expected") is not None:
                labelled += 1
                correct += bool(record.get("correct"))
    return labelled, correct


def _items(path: Path, default: GraphConfig, resolve: Resolve) -> Iterator[Item]:
    kind: Kind = "simple"
    seen: set[str] = set()
    with path.open(encoding="utf-8", errors="replace") as f:
        for number, text in enumerate(f, start=1):
            if not text.strip():
                continue
            item = parse_line(text, number, default, kind, resolve)
            kind = item.kind
            if item.key in seen:
                item = Item(
                    f"line-{number}",
                    item.kind,
                    number,
                    error=_error(400, f"duplicate id {item.key!r}", "duplicate_id"),
                )
            seen.add(item.key)
            yield item


def count_lines(path: Path) -> int:
    """Non-blank lines of the input (for the progress bar)."""
    with path.open("rb") as f:
        return sum(1 for raw in f if raw.strip())


class Unanswered(Exception):  # noqa: N818 - an outcome, not a fault of the line
    """A question its runner lost (a Ray worker died past its retries): no line is written,
    so the next run of the same command answers it."""


class Dispatch(Protocol):
    """Where ``run_lines`` sends questions: the service's work queue (``ServiceDispatch``)
    or Ray workers (``api.batch_ray``)."""

    @property
    def capacity(self) -> int:
        """Questions that may be in flight at once (0: nothing can take more)."""

    def resolve(self, ask: Ask) -> GraphConfig:
        """The configuration ``ask`` runs where it is answered (``Service.resolve``).

        Raises:
            pydantic.ValidationError: An override the configuration refuses.
        """

    def submit(self, item: Item, learn: bool) -> tuple[Future[Answer], Callable[[], None]]:
        """Start answering ``item``; return its future and a function that cancels it."""


def ask_for(item: Item, learn: bool, cancellation: Cancellation | None = None) -> Ask:
    """The service request for an answerable line (the same wherever it runs)."""
    return Ask(
        item.question,
        item.config,
        overrides=item.overrides,
        history=item.history or None,
        source="batch",
        ground_truth=item.label if learn else None,
        cancellation=cancellation or Cancellation(),
    )


class ServiceDispatch:
    """Questions go to one in-process service's work queue, ``concurrency`` at once."""

    def __init__(self, service: Service, concurrency: int | None = None) -> None:
        queue = service.queue
        k = concurrency or queue.max_concurrency
        if k > queue.max_concurrency + queue.queue_size:
            raise ConfigError(
                f"concurrency {k} is over what the service admits "
                f"({queue.max_concurrency} workers + {queue.queue_size} waiting)"
            )
        self.service = service
        self._capacity = k

    @property
    def capacity(self) -> int:
        """Questions in flight at once."""
        return self._capacity

    def resolve(self, ask: Ask) -> GraphConfig:
        """The service's resolution."""
        return self.service.resolve(ask)

    def submit(self, item: Item, learn: bool) -> tuple[Future[Answer], Callable[[], None]]:
        """Submit to the service; cancelling stops the run at its next graph event."""
        cancel = Cancellation()
        future = self.service.submit(ask_for(item, learn, cancel))

        def stop() -> None:
            future.cancel()
            cancel.cancel()  # a running question stops at its next graph event

        return future, stop


def run_batch(
    service: Service,
    source: Path,
    output: Path,
    config: GraphConfig,
    *,
    concurrency: int | None = None,
    learn: bool = False,
    on_line: Callable[[dict[str, Any]], None] | None = None,
) -> BatchReport:
    """Answer every line of ``source`` not yet in ``output``; Ctrl-C stops cleanly.

    Args:
        service: Reasoner and memory to answer with.
        source: Input JSONL.
        output: Output JSONL (appended to; created when missing).
        config: Configuration for simple lines (OpenAI lines name their own model).
        concurrency: Questions in flight at once (default: the service's workers); they go
            through the service's work queue like every other way in.
        learn: Pass labels as ground truth, so verified paths that match go to memory.
        on_line: Called with each record after it is written (progress).
    """
    dispatch = ServiceDispatch(service, concurrency)
    return run_lines(dispatch, source, output, config, learn=learn, on_line=on_line)


def run_lines(
    dispatch: Dispatch,
    source: Path,
    output: Path,
    config: GraphConfig,
    *,
    learn: bool = False,
    on_line: Callable[[dict[str, Any]], None] | None = None,
) -> BatchReport:
    """``run_batch`` over any ``Dispatch``: the one place that reads, skips and writes lines.

    Each line is written once, by this thread, when its future completes; a future that
    fails with ``Unanswered`` writes nothing (counted in ``BatchReport.lost``), so a rerun
    answers it.
    """
    report = BatchReport()
    done = done_keys(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(output, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    cancels: dict[Future[Answer], Callable[[], None]] = {}
    pending: dict[Future[Answer], Item] = {}

    def write(item: Item, answer: Answer | None, error: tuple[int, dict[str, Any]] | None) -> None:
        record = output_line(item, answer, error)
        data = (json.dumps(record, ensure_ascii=False, default=str) + "\n").encode()
        os.write(fd, data)  # one write of one whole line: never a partial line
        if error is not None:
            report.errors += 1
        else:
            report.answered += 1
        if on_line is not None:
            on_line(record)

    def collect(futures: set[Future[Answer]]) -> None:
        for future in futures:
            item = pending.pop(future)
            cancels.pop(future, None)
            try:
                write(item, future.result(), None)
            except Unanswered:
                report.lost += 1
            except Exception as ex:  # noqa: BLE001 - any failure becomes this line's error
                write(item, None, describe(ex))

    try:
        for item in _items(source, config, dispatch.resolve):
            report.total += 1
            if item.key in done:
                report.skipped += 1
                continue
            if item.error is not None:
                write(item, None, item.error)
                continue
            while pending and len(pending) >= dispatch.capacity:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                collect(finished)
            future, cancel = dispatch.submit(item, learn)
            pending[future] = item
            cancels[future] = cancel
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            collect(finished)
    except KeyboardInterrupt:
        report.interrupted = True
        for cancel in cancels.values():
            cancel()
    finally:
        wait(pending)  # cancelled ones end at once, running ones at their next graph step
        os.close(fd)
    report.labelled, report.correct = score(output)
    return report


def batch_command(
    ctx: typer.Context,
    source: Path = typer.Argument(..., exists=True, dir_okay=False, help="Input JSONL."),
    output: Path = typer.Option(..., "--output", "-o", help="Output JSONL (resumed if present)."),
    config: str | None = typer.Option(
        None, "--config", "-c", help="Graph configuration for simple lines (REASON_GRAPH)."
    ),
    concurrency: int | None = typer.Option(
        None,
        "--concurrency",
        "-k",
        min=1,
        max=64,
        help="Questions in flight at once (REASON_BATCH_CONCURRENCY).",
    ),
    learn: bool = typer.Option(
        False, "--learn", help="Use the labels as ground truth: verified paths go to memory."
    ),
    max_tokens: int | None = typer.Option(None, min=16, help="Length cap per path."),
    paths: int | None = typer.Option(None, "--paths", min=1, help="Reasoning paths at most."),
    ray: str | None = typer.Option(
        None,
        "--ray",
        metavar="ADDRESS",
        help="Answer on Ray workers: a cluster address, auto (RAY_ADDRESS, the cluster on "
        # \\[ : the help is rich markup, where [ray] would be a tag and vanish.
        "this machine, or a new local one) or local (a new local one). Needs pip install .\\[ray].",
    ),
    workers: int = typer.Option(
        2, "--workers", min=1, max=1024, help="Ray workers, each with its own service (--ray)."
    ),
    worker_cpus: float = typer.Option(
        1.0, "--worker-cpus", min=0.01, help="CPUs Ray reserves for each worker (--ray)."
    ),
    backend_urls: list[str] | None = typer.Option(
        None,
        "--backend-url",
        help="Model server for the openai backend; repeat it to spread Ray workers over "
        "several, round robin (default REASON_BACKEND_URL).",
    ),
) -> None:
    """Answer the questions of a JSONL file; rerun the same command to resume."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from agent.config import configure
    from service.compose import build_service
    from service.settings import Settings

    settings = ctx.find_root().obj
    assert isinstance(settings, Settings)
    overrides: dict[str, Any] = {"write_back": True} if learn else {}
    if max_tokens is not None:
        overrides["max_tokens"] = max_tokens
    if paths is not None:
        overrides["n"] = paths
    cfg = configure(config or settings.graph, settings.sampling_defaults(), **overrides)
    k = concurrency or settings.batch_concurrency
    err, out = Console(stderr=True), Console()
    closing: contextlib.ExitStack = contextlib.ExitStack()
    dispatch: Dispatch
    if ray is not None:
        from api.batch_ray import RayBatch

        # k questions at once in each worker; each worker builds its own service.
        dispatch = closing.enter_context(
            RayBatch(
                settings,
                cfg,
                ray,
                workers=workers,
                concurrency=k,
                urls=backend_urls or (),
                worker_cpus=worker_cpus,
                learn=learn,
            )
        )
        err.print(f"{workers} Ray worker(s) ready", style="dim")
    else:
        # The service's workers are the batch's concurrency: one route to the model.
        settings = settings.model_copy(update={"max_concurrency": k, "queue_size": k})
        service = build_service(
            settings, memory=learn or cfg.retrieval, threads=False, source="batch"
        )
        closing.callback(service.close)
        dispatch = ServiceDispatch(service, k)
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=err,
    )
    total = count_lines(source)
    with progress:
        task = progress.add_task("batch", total=total, rate="")
        progress.update(task, completed=len(done_keys(output)))

        def step(record: dict[str, Any]) -> None:
            progress.advance(task)
            speed = progress.tasks[0].speed
            progress.update(task, rate=f"{speed:.2f} q/s" if speed else "")

        with closing:
            report = run_lines(dispatch, source, output, cfg, learn=learn, on_line=step)
    err.print(
        f"{report.answered} answered, {report.errors} error(s), "
        f"{report.skipped} already done; output: {output}"
    )
    if report.lost:
        err.print(f"{report.lost} question(s) lost with their worker; run again to answer them")
    if report.accuracy is not None:
        out.print(f"accuracy: {report.correct}/{report.labelled} = {report.accuracy:.1%}")
    if report.interrupted:
        err.print("interrupted; run the same command again to resume")
        raise typer.Exit(130)
    if report.lost:
        raise typer.Exit(1)
