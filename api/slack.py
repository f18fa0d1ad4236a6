"""The Slack bot (slack-bolt): mentions, DMs, ``/reason``, buttons and reactions as feedback.

A question (mention in a channel, or a direct message) gets a "Thinking…" reply in its
thread, updated with the graph's progress, then the answer with a compact trace (principle,
"k of n paths agree", confidence) and three buttons: Show reasoning, Correct, Wrong. A
:white_check_mark: or :x: reaction on the answer counts as Correct / Wrong, and a reply in
its thread that says "the right answer is X" is a correction. Feedback goes to
``Service.feedback``, the same path as ``POST /v1/feedback``. Each Slack thread is one
conversation thread of the graph (when the service has a checkpointer).

Two modes: HTTP (``mount_slack`` adds ``POST /slack/events`` to the FastAPI app; Bolt
verifies the signature and the timestamp) and Socket Mode (``run_socket_mode``, from
``reason slack``). Outbound calls go to ``settings.slack_api_url`` when set (tests).
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier
from starlette.concurrency import run_in_threadpool

from agent.errors import ReasonerError
from agent.events import Event
from agent.reasoner import Answer, EventSink
from memory import MemoryStoreError
from service.compose import Ask, Service
from service.queue import Cancelled, QueueFull
from service.settings import Settings

logger = logging.getLogger(__name__)

CORRECT_REACTIONS = {"white_check_mark", "heavy_check_mark", "+1"}
WRONG_REACTIONS = {"x", "-1"}
UPDATE_EVERY_S = 1.0  # Slack rate-limits chat.update; progress is throttled to this
KEEP_ANSWERS = 1000
MENTION = re.compile(r"<@[A-Z0-9]+>\s*")
MAX_TEXT = 2900  # a section block holds at most 3000 characters
# "the right answer is 42", "No, the correct answer is 42." in the thread of an answer.
CORRECTION = re.compile(
    r"^\W*(?:no\W+)?(?:the\s+)?(?:right|correct|true)\s+answer\s+is\W*(?P<answer>.+?)[\s.!]*$",
    re.IGNORECASE,
)


def _secret(value: Any) -> str | None:
    return value.get_secret_value() if value is not None else None


def _cut(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def trace_line(answer: Answer) -> str:
    """The compact trace: principle, "k of n paths agree", confidence, verified."""
    ev = answer.trace.get("verification") or {}
    vote = answer.trace.get("vote")
    parts = []
    if answer.trace.get("principle"):
        parts.append(f"Principle: {_cut(str(answer.trace['principle']), 300)}")
    agree = ev.get("agreeing_paths")
    total = ev.get("total_paths") or (vote["paths"] if vote else None)
    if agree is not None and total:
        parts.append(f"{agree} of {total} paths agree")
    confidence = ev.get("confidence")
    if confidence is None:
        confidence = vote["share"] if vote else None
    if confidence is not None:
        parts.append(f"confidence {float(confidence):.0%}")
    parts.append("verified" if answer.verified else "not verified")
    parts.append(f"{answer.seconds:.1f}s")
    return " · ".join(parts)


def answer_blocks(answer: Answer) -> list[dict[str, Any]]:
    """Block Kit for an answer: the text, the trace line, and the three buttons."""

    def button(text: str, action: str, style: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "button",
            "action_id": action,
            "value": answer.id,
            "text": {"type": "plain_text", "text": text},
        }
        if style:
            out["style"] = style
        return out

    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": _cut(answer.content)}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": trace_line(answer)}]},
        {
            "type": "actions",
            "block_id": "reason_feedback",
            "elements": [
                button("Show reasoning", "reason_show"),
                button("Correct", "reason_correct", "primary"),
                button("Wrong", "reason_wrong", "danger"),
            ],
        },
    ]


class SlackBot:
    """The listeners, and what they remember (answers by id and by message)."""

    def __init__(self, service: Service) -> None:
        """Answer with the service's default graph configuration."""
        self.service = service
        self._answers: OrderedDict[str, Answer] = OrderedDict()
        self._by_message: dict[tuple[str, str], str] = {}
        self._by_thread: dict[tuple[str, str], str] = {}  # the latest answer in a thread
        self._lock = threading.Lock()

    # ---- answering -------------------------------------------------------------------
    def solve(self, question: str, thread: str | None, on_event: EventSink | None = None) -> Answer:
        """Answer through the shared work queue (raises QueueFull when it is full)."""
        threaded = thread if self.service.reasoner.checkpointer is not None else None
        return self.service.answer(
            Ask(question, thread_id=threaded, source="slack", on_event=on_event)
        )

    def remember(
        self, answer: Answer, channel: str | None, ts: str | None, thread: str | None = None
    ) -> None:
        """Keep an answer for the buttons, reactions and corrections in its thread."""
        with self._lock:
            self._answers[answer.id] = answer
            if channel and ts:
                self._by_message[(channel, ts)] = answer.id
            if channel and thread:
                self._by_thread[(channel, thread)] = answer.id
            while len(self._answers) > KEEP_ANSWERS:
                old, _ = self._answers.popitem(last=False)
                self._by_message = {k: v for k, v in self._by_message.items() if v != old}
                self._by_thread = {k: v for k, v in self._by_thread.items() if v != old}

    def correction(self, channel: str, thread: str | None, text: str) -> str | None:
        """Feedback's one line when ``text`` corrects the latest answer of this thread."""
        match = CORRECTION.match(text)
        if match is None or thread is None:
            return None
        with self._lock:
            answer_id = self._by_thread.get((channel, thread))
        if answer_id is None:
            return None
        return self.feedback(answer_id, False, match.group("answer").strip())

    def answer_in_thread(
        self, client: WebClient, channel: str, thread_ts: str, question: str
    ) -> None:
        """Post "Thinking…", update it with progress, then replace it with the answer."""
        request_id = f"req-{uuid.uuid4().hex[:8]}"
        posted = client.chat_postMessage(channel=channel, thread_ts=thread_ts, text="Thinking…")
        ts = str(posted["ts"])
        lines: list[str] = []
        last = [0.0]

        def progress(event: Event) -> None:
            text = event.text()
            if text is None:
                return
            lines.append(text)
            now = time.monotonic()
            if now - last[0] >= UPDATE_EVERY_S:
                last[0] = now
                client.chat_update(
                    channel=channel, ts=ts, text=_cut("Thinking…\n" + "\n".join(lines[-6:]))
                )

        try:
            answer = self.solve(question, f"slack:{channel}:{thread_ts}", progress)
        except QueueFull as ex:
            client.chat_update(
                channel=channel,
                ts=ts,
                text=(f"I'm busy right now; please ask again in {ex.retry_after}s. ({request_id})"),
            )
            return
        except (ReasonerError, MemoryStoreError, Cancelled) as ex:
            logger.warning("slack %s failed: %s", request_id, ex)
            client.chat_update(
                channel=channel, ts=ts, text=f"Sorry, I could not answer: {ex} ({request_id})"
            )
            return
        self.remember(answer, channel, ts, thread_ts)
        client.chat_update(
            channel=channel, ts=ts, text=_cut(answer.content), blocks=answer_blocks(answer)
        )

    def feedback(self, answer_id: str, correct: bool, true_answer: str | None = None) -> str:
        """Record feedback through the service's queue; one line saying what happened."""
        try:
            result = self.service.feedback(answer_id, correct, true_answer).result()
        except QueueFull as ex:
            return f"I'm busy right now; please send that again in {ex.retry_after}s."
        except (ReasonerError, MemoryStoreError) as ex:
            return f"Could not record feedback: {ex}"
        verdict = (
            f"a correction ({true_answer})" if true_answer else "correct" if correct else "wrong"
        )
        return f"Thanks, recorded as {verdict}: {result.detail}"

    # ---- wiring ----------------------------------------------------------------------
    def register(self, app: App) -> None:
        """Attach every listener to a Bolt app."""
        app.middleware(_skip_retries)
        app.event("app_mention")(self._on_mention)
        app.event("message")(self._on_message)
        app.event("reaction_added")(self._on_reaction)
        app.command("/reason")(self._on_command)
        app.action("reason_show")(self._on_show)
        app.action("reason_correct")(self._on_correct)
        app.action("reason_wrong")(self._on_wrong)

    def _on_mention(self, event: dict[str, Any], client: WebClient) -> None:
        question = MENTION.sub("", event.get("text", "")).strip()
        thread_ts = event.get("thread_ts") or event["ts"]
        line = self.correction(event["channel"], event.get("thread_ts"), question)
        if line is not None:
            client.chat_postMessage(channel=event["channel"], thread_ts=thread_ts, text=line)
            return
        if not question:
            client.chat_postMessage(
                channel=event["channel"],
                thread_ts=thread_ts,
                text="Ask me a question after the mention.",
            )
            return
        self.answer_in_thread(client, event["channel"], thread_ts, question)

    def _on_message(self, event: dict[str, Any], client: WebClient) -> None:
        if event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id"):
            return  # channel messages are answered only when the bot is mentioned
        question = (event.get("text") or "").strip()
        thread_ts = event.get("thread_ts") or event["ts"]
        line = self.correction(event["channel"], event.get("thread_ts"), question)
        if line is not None:
            client.chat_postMessage(channel=event["channel"], thread_ts=thread_ts, text=line)
        elif question:
            self.answer_in_thread(client, event["channel"], thread_ts, question)

    def _on_command(self, ack: Any, command: dict[str, Any], respond: Any) -> None:
        question = (command.get("text") or "").strip()
        if not question:
            ack("Usage: /reason QUESTION")
            return
        ack(f"Thinking about: {_cut(question, 500)}")  # within Slack's 3 seconds
        request_id = f"req-{uuid.uuid4().hex[:8]}"
        try:
            answer = self.solve(question, None)
        except QueueFull as ex:
            respond(f"I'm busy right now; please ask again in {ex.retry_after}s. ({request_id})")
            return
        except (ReasonerError, MemoryStoreError, Cancelled) as ex:
            respond(f"Sorry, I could not answer: {ex} ({request_id})")
            return
        self.remember(answer, None, None)
        respond(
            text=f"*{_cut(question, 500)}*\n{_cut(answer.content)}",
            blocks=answer_blocks(answer),
            response_type="in_channel",
        )

    def _action_target(self, body: dict[str, Any]) -> tuple[str, str | None, str | None]:
        action = body["actions"][0]
        channel = (body.get("channel") or {}).get("id")
        message = body.get("message") or {}
        thread = message.get("thread_ts") or message.get("ts")
        return str(action.get("value", "")), thread, channel

    def _reply(
        self, client: WebClient, channel: str | None, thread: str | None, text: str, respond: Any
    ) -> None:
        if channel:
            client.chat_postMessage(channel=channel, thread_ts=thread, text=text)
        else:
            respond(text=text, response_type="ephemeral", replace_original=False)

    def _on_show(self, ack: Any, body: dict[str, Any], client: WebClient, respond: Any) -> None:
        ack()
        answer_id, thread, channel = self._action_target(body)
        with self._lock:
            answer = self._answers.get(answer_id)
        text = (
            f"Reasoning behind {answer.content!r}:\n{_cut(answer.rationale or '(none)')}"
            if answer
            else "That answer is too old; I no longer have its reasoning."
        )
        self._reply(client, channel, thread, text, respond)

    def _feedback_action(
        self, correct: bool, ack: Any, body: dict[str, Any], client: WebClient, respond: Any
    ) -> None:
        ack()
        answer_id, thread, channel = self._action_target(body)
        self._reply(client, channel, thread, self.feedback(answer_id, correct), respond)

    def _on_correct(self, ack: Any, body: dict[str, Any], client: WebClient, respond: Any) -> None:
        self._feedback_action(True, ack, body, client, respond)

    def _on_wrong(self, ack: Any, body: dict[str, Any], client: WebClient, respond: Any) -> None:
        self._feedback_action(False, ack, body, client, respond)

    def _on_reaction(self, event: dict[str, Any], client: WebClient) -> None:
        reaction = event.get("reaction", "")
        if reaction not in CORRECT_REACTIONS | WRONG_REACTIONS:
            return
        item = event.get("item") or {}
        key = (str(item.get("channel")), str(item.get("ts")))
        with self._lock:
            answer_id = self._by_message.get(key)
        if answer_id is None:
            return  # a reaction on something that is not one of our answers
        line = self.feedback(answer_id, reaction in CORRECT_REACTIONS)
        client.chat_postMessage(channel=key[0], thread_ts=key[1], text=line)


def _skip_retries(
    body: dict[str, Any],
    request: BoltRequest,
    next: Callable[[], BoltResponse],  # noqa: A002
) -> BoltResponse:
    # Slack re-sends an event it thinks was not acknowledged; the first one is being answered.
    if request.headers.get("x-slack-retry-num"):
        return BoltResponse(status=200, body="")
    return next()


class SlackConnection:
    """Whether Slack's Web API accepts the bot token, checked in the background until it does.

    Bolt checks the token (``auth.test``) when an app is built, and raises when Slack is
    unreachable or the token is revoked: a Slack outage would then stop ``reason serve``
    from starting, REST API included. The app is built without that check; this thread
    makes it instead, retrying with backoff and logging one line per failure, and
    ``/readyz`` shows what it found.
    """

    def __init__(self, client: WebClient, *, first_delay: float = 1.0, max_delay: float = 60.0):
        """Start checking at once in a daemon thread."""
        self.client = client
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.ready = False
        self.detail = "not ready: checking the bot token with Slack"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="slack-auth", daemon=True)
        self._thread.start()

    def check(self) -> bool:
        """One ``auth.test`` call; records the outcome and returns whether it succeeded."""
        try:
            reply = self.client.auth_test()
        except Exception as ex:  # noqa: BLE001 - any failure means "not ready", said in words
            self.ready, self.detail = False, f"not ready: {type(ex).__name__}: {ex}"[:300]
            return False
        self.ready, self.detail = True, f"connected (team {reply.get('team', '?')})"
        return True

    def _run(self) -> None:
        delay = self.first_delay
        while not self._stop.is_set() and not self.check():
            logger.warning("Slack %s; retrying in %.0f s", self.detail, delay)
            self._stop.wait(delay)
            delay = min(delay * 2, self.max_delay)
        if self.ready:
            logger.info("Slack %s", self.detail)

    def close(self) -> None:
        """Stop retrying."""
        self._stop.set()


def build_bolt_app(settings: Settings, service: Service, *, http: bool = True) -> App:
    """A Bolt app with every listener; outbound calls go to ``slack_api_url`` when set.

    The token is not checked here (``SlackConnection`` does it in the background), so a
    Slack outage at start-up never stops the service.
    """
    token = _secret(settings.slack_bot_token)
    client_kwargs: dict[str, Any] = {"token": token}
    if settings.slack_api_url:
        client_kwargs["base_url"] = settings.slack_api_url.rstrip("/") + "/"
    app = App(
        token=token,
        signing_secret=_secret(settings.slack_signing_secret) or "",
        client=WebClient(**client_kwargs),
        request_verification_enabled=http,
        token_verification_enabled=False,
        process_before_response=False,
    )
    SlackBot(service).register(app)
    return app


class ReplayGuard:
    """Refuse a signed Slack request seen before, byte for byte.

    Bolt checks the signature and that the timestamp is under five minutes old; inside
    that window a captured request verifies again, so a copy would be answered twice.
    A valid signature covers the timestamp and the body, so it names one request: the guard
    remembers the valid ones for the window and refuses a second. Slack's own re-sends
    carry ``X-Slack-Retry-Num`` and are acknowledged without work by ``_skip_retries``.
    """

    WINDOW_S = 5 * 60

    def __init__(self, signing_secret: str) -> None:
        self._verifier = SignatureVerifier(signing_secret)
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def is_replay(self, body: bytes, headers: Mapping[str, str]) -> bool:
        """True when ``body`` with these headers is valid and was already accepted."""
        signature = headers.get("x-slack-signature", "")
        if not self._verifier.is_valid_request(body, dict(headers)):
            return False  # Bolt refuses it with 401 itself
        now = time.monotonic()
        with self._lock:
            while self._seen and next(iter(self._seen.values())) < now - self.WINDOW_S:
                self._seen.popitem(last=False)
            if signature in self._seen:
                return True
            self._seen[signature] = now
            return False


def mount_slack(app: FastAPI, settings: Settings, service: Service) -> App:
    """Serve Slack's Events API, interactivity and slash commands at ``POST /slack/events``."""
    bolt = build_bolt_app(settings, service, http=True)
    app.state.slack = SlackConnection(bolt.client)
    replays = ReplayGuard(_secret(settings.slack_signing_secret) or "")

    @app.post("/slack/events", include_in_schema=False)
    async def slack_events(request: Request) -> Response:
        body = await request.body()
        if replays.is_replay(body, request.headers):
            logger.warning("Slack request refused: a replay of one already answered")
            return Response("replayed request", status_code=401, media_type="text/plain")
        # dispatch blocks until a listener acknowledges (at most ~3 s): keep it off the loop.
        bolt_response = await run_in_threadpool(bolt.dispatch, to_bolt_request(request, body))
        return to_starlette_response(bolt_response)

    logger.info("Slack events served at /slack/events")
    return bolt


def run_socket_mode(settings: Settings, service: Service) -> None:
    """Connect to Slack over Socket Mode with the app token and serve until interrupted."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    app_token = _secret(settings.slack_app_token)
    if not app_token or not settings.slack_bot_token:
        from agent.errors import ConfigError

        raise ConfigError("Socket Mode needs REASON_SLACK_APP_TOKEN and REASON_SLACK_BOT_TOKEN")
    bolt = build_bolt_app(settings, service, http=False)
    SocketModeHandler(bolt, app_token).start()
