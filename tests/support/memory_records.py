"""Memory records made the way the service makes them: through the real write-back policy."""

from __future__ import annotations

from typing import Any

from memory import Evidence, MemoryConfig, VerifiedPath, decide


def verified(question: str, answer: str, **evidence: Any) -> VerifiedPath:
    """The ``VerifiedPath`` that ``decide`` makes of ``Evidence(question, answer, **evidence)``
    under the default thresholds.

    Unless ``evidence`` says otherwise the path is a stub and 5 paths agreed on the answer
    with nothing against it (``vote_share`` 1.0), which the policy stores.
    """
    fields: dict[str, Any] = {
        "path": f"... so the answer is {answer}.",
        "vote_share": 1.0,
        "agreeing_paths": 5,
        **evidence,
    }
    result = decide(Evidence(question=question, answer=answer, **fields), MemoryConfig().writeback)
    assert isinstance(result, VerifiedPath), result
    return result
