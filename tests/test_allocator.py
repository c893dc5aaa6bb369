"""The allocator tuning that keeps freed tensor memory for the next restoration step."""

from __future__ import annotations

import platform
import sys

import pytest

from redecode import allocator


@pytest.mark.skipif(not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
                    reason="glibc only")
def test_glibc_accepts_both_thresholds() -> None:
    allocator.retain_freed_memory.cache_clear()
    assert allocator.retain_freed_memory() is True
    assert allocator.retain_freed_memory.cache_info().misses == 1
    assert allocator.retain_freed_memory() is True  # once per process
    assert allocator.retain_freed_memory.cache_info().hits >= 1


def test_other_platforms_are_left_alone(monkeypatch) -> None:
    allocator.retain_freed_memory.cache_clear()
    monkeypatch.setattr(allocator.sys, "platform", "darwin")
    try:
        assert allocator.retain_freed_memory() is False
    finally:
        allocator.retain_freed_memory.cache_clear()


def test_engine_tunes_the_allocator_only_with_a_model(monkeypatch) -> None:
    from redecode.pipeline import engine

    calls = []
    monkeypatch.setattr(engine, "retain_freed_memory", lambda: calls.append(1))
    engine.Engine(engine.Passthrough())
    assert calls == []
    from redecode.models import ClassicNet

    engine.Engine(ClassicNet())
    assert calls == [1]
