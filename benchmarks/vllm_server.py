"""A real vLLM OpenAI-compatible server on localhost, run from its own venv (.venv-vllm).

The tests (tests/integration/test_vllm.py), the throughput benchmark and ``scripts/vllm/check.sh``
all start vLLM through ``VllmServer``, with the flags in ``SERVE_FLAGS``; docker/compose.yaml's
vllm service passes the same flags (tests/unit/test_vllm_recipe.py keeps the two in step), so
the recipe the service is deployed with is the one that was exercised here.

Command line (foreground, Ctrl-C stops it)::

    .venv/bin/python -m benchmarks.vllm_server smollm2-135m --port 8001
"""

from __future__ import annotations

import os
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import httpx
import typer

from benchmarks.net import free_port, http_ready, wait_until_ready

ROOT = Path(__file__).resolve().parents[1]
VLLM_VENV = ROOT / ".venv-vllm"
HF_MODELS_DIR = ROOT / "indexes" / "models" / "hf"
READY_TIMEOUT_S = 600.0  # a cold start on 2 shared CPU cores takes minutes

# Flags every vLLM server of this project gets, on CPU here and on a GPU in docker/compose.yaml.
# --generation-config vllm: without it vLLM applies the model folder's generation_config.json
#   as silent sampling defaults (a hub Qwen folder sets top_k=20, repetition_penalty=1.05), so
#   the same request would sample differently from the llama.cpp backend.
# --dtype auto: vLLM loads the float32 folder (scripts/vllm/gguf_to_hf.py) as a 16-bit type;
#   on this CPU that is bfloat16 (its load log says so), on a GPU its own choice.
# --max-logprobs 20: the confidence vote and CoT-decoding ask for top-k alternatives.
SERVE_FLAGS: tuple[str, ...] = (
    "--dtype",
    "auto",
    "--max-model-len",
    "4096",
    "--generation-config",
    "vllm",
    "--max-logprobs",
    "20",
)
# CPU only: KV-cache memory in GiB (vLLM's CPU default takes a large share of the machine).
CPU_ENV = {"VLLM_CPU_KVCACHE_SPACE": "2", "VLLM_LOGGING_LEVEL": "WARNING"}


def missing_prerequisite(model: str) -> str | None:
    """Why a vLLM server for ``model`` cannot start here, or None when it can."""
    if not (VLLM_VENV / "bin" / "python").exists():
        return f"{VLLM_VENV.name} is missing: run scripts/vllm/env.sh"
    if not (HF_MODELS_DIR / model / ".converted").exists():
        return f"model folder {HF_MODELS_DIR / model} is missing: run scripts/vllm/env.sh {model}"
    return None


@dataclass
class VllmServer:
    """``python -m vllm.entrypoints.openai.api_server`` serving one model folder on loopback.

    The served model name is the project's catalogue name (``smollm2-135m``), which is what
    the service is configured with (``REASON_MODEL``).
    """

    model: str
    port: int = field(default_factory=free_port)
    api_key: str = "vllm-test-key"
    log: Path | None = None
    extra_flags: tuple[str, ...] = ()
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Base URL of the OpenAI API (``…/v1``), as ``REASON_BACKEND_URL`` takes it."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def root_url(self) -> str:
        """The server's root, where /health and /metrics live."""
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        """The full command line."""
        return [
            str(VLLM_VENV / "bin" / "python"),
            "-m",
            "vllm.entrypoints.openai.api_server",
            "--model",
            str(HF_MODELS_DIR / self.model),
            "--served-model-name",
            self.model,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--api-key",
            self.api_key,
            *SERVE_FLAGS,
            *self.extra_flags,
        ]

    def start(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Start the server and wait until ``/health`` answers 200."""
        why = missing_prerequisite(self.model)
        if why:
            raise RuntimeError(why)
        sink = (self.log or Path(os.devnull)).open("ab")
        # Its own process group, so that stop() also ends the engine-core child process.
        self.process = subprocess.Popen(
            self.command(),
            env={**os.environ, **CPU_ENV},
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_until_ready(
                http_ready(f"{self.root_url}/health"),
                "vLLM",
                timeout_s,
                process=self.process,
                log=self.log,
                interval_s=1.0,
            )
        except RuntimeError:
            self.stop()
            raise

    def kill(self) -> None:
        """SIGKILL the whole process group: a crash, no shutdown handler runs."""
        self._signal(signal.SIGKILL)

    def stop(self) -> None:
        """SIGTERM the process group and wait; SIGKILL after 30 s."""
        self._signal(signal.SIGTERM)

    def _signal(self, sig: signal.Signals) -> None:
        proc = self.process
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)
        except ProcessLookupError:
            pass

    def running_requests(self) -> float:
        """Requests the engine is decoding now (``vllm:num_requests_running`` in /metrics)."""
        text = httpx.get(f"{self.root_url}/metrics", timeout=10).text
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("vllm:num_requests_running")
        )

    def __enter__(self) -> VllmServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def main(
    model: str = typer.Argument(help="Catalogue name, e.g. smollm2-135m or qwen2.5-0.5b."),
    port: int = typer.Option(8001, help="Port to serve on."),
    api_key: str = typer.Option("change-me", help="The key clients must send."),
) -> None:
    """Start vLLM on a model folder made by env.sh; serve in the foreground until Ctrl-C."""
    server = VllmServer(model, port=port, api_key=api_key)
    print(" ".join(server.command()), flush=True)
    server.start()
    settings = (
        f"REASON_BACKEND=openai REASON_BACKEND_URL={server.url} "
        f"REASON_BACKEND_API_KEY={api_key} REASON_MODEL={model}"
    )
    print(f"vLLM ready; point the service at it with: {settings}", flush=True)
    try:
        assert server.process is not None
        server.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    typer.run(main)
