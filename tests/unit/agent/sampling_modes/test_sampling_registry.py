"""The sampling modes' registry: one module per mode, and the mode each configuration runs."""

from __future__ import annotations

import pytest

import agent.sampling_modes as modes
from agent.config import NAMED_CONFIGS, named_config
from agent.sampling_modes import SAMPLING_MODES, mode_for


def test_sampling_modes_export_sorted_public_names() -> None:
    assert modes.__all__ == sorted(modes.__all__)
    for name in modes.__all__:
        assert hasattr(modes, name)


@pytest.mark.parametrize(
    ("config", "mode"),
    [
        ("cot", "fixed"),
        ("sc@8", "fixed"),
        ("adaptive@8", "adaptive"),
        ("pot-sc@8", "program"),
        ("mixed@8", "mixed"),
        ("mixed-adaptive@8", "program_first"),
        ("full", "program_first"),
        ("cot-decoding@8", "cot_decoding"),
    ],
)
def test_each_configuration_runs_its_mode(config: str, mode: str) -> None:
    assert mode_for(named_config(config)) == mode


def test_views_need_program_prompts() -> None:
    with pytest.raises(ValueError, match="views draws programs and prose"):
        named_config("cot", sampling="views")


def test_adaptive_rounds_of_programs_are_the_program_mode() -> None:
    assert mode_for(named_config("pot-sc@8", sampling="adaptive")) == "program"


@pytest.mark.parametrize("config", NAMED_CONFIGS)
def test_every_named_configuration_has_a_registered_mode(config: str) -> None:
    assert mode_for(named_config(config)) in SAMPLING_MODES
