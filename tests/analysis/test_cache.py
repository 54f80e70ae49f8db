"""The verdict cache on its own: bounded, damage-tolerant, shared through its file."""

from __future__ import annotations

import json
from pathlib import Path

from drifttui.analysis.cache import FILE_NAME, VerdictCache, cache_key
from drifttui.analysis.protocol import Action, Risk, Verdict


def v(fid: str) -> Verdict:
    return Verdict(fid, "cause", Risk.COST, Action.PATCH_LIVE, 0.7, "reason", 12.5)


def test_round_trip_through_the_file(tmp_path: Path) -> None:
    first = VerdictCache(tmp_path)
    first.put("k1", v("A"))
    first.put_summary("s1", "Over-scaling detected.")
    first.save()
    second = VerdictCache(tmp_path)
    assert second.get("k1") == v("A")
    assert second.get_summary("s1") == "Over-scaling detected."
    assert second.get("k2") is None


def test_oldest_entries_go_first(tmp_path: Path) -> None:
    cache = VerdictCache(tmp_path, max_entries=3)
    for n in range(5):
        cache.put(f"k{n}", v(str(n)))
    assert [cache.get(f"k{n}") is not None for n in range(5)] == [False, False, True, True, True]
    assert len(cache) == 3


def test_damaged_entries_are_skipped(tmp_path: Path) -> None:
    good = {
        "finding_id": "A",
        "cause": "c",
        "risk": "cost",
        "action": "patch-live",
        "confidence": 0.5,
        "reason": "r",
        "monthly_cost_usd": None,
    }
    data = {
        "version": 1,
        "verdicts": {"ok": good, "bad-risk": {**good, "risk": "?"}, "not-a-dict": 3},
        "summaries": {"s": 5},
    }
    (tmp_path / FILE_NAME).write_text(json.dumps(data))
    cache = VerdictCache(tmp_path)
    assert cache.get("ok") is not None
    assert cache.get("bad-risk") is None
    assert cache.get("not-a-dict") is None
    assert cache.get_summary("s") is None


def test_nothing_written_when_nothing_changed(tmp_path: Path) -> None:
    cache = VerdictCache(tmp_path)
    cache.get("k")
    cache.save()
    assert not (tmp_path / FILE_NAME).exists()


def test_unwritable_directory_is_a_log_line_not_an_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    lines: list[str] = []
    cache = VerdictCache(blocker / "sub", log=lines.append)
    cache.put("k", v("A"))
    cache.save()
    assert cache.get("k") == v("A")
    assert len(lines) == 1
    assert "not written" in lines[0]


def test_keys_depend_on_fingerprint_payload_model_and_prompt() -> None:
    base = cache_key("fp", {"live": 5}, "m1", "p1")
    assert base == cache_key("fp", {"live": 5}, "m1", "p1")
    others = {
        cache_key("fp2", {"live": 5}, "m1", "p1"),
        cache_key("fp", {"live": 6}, "m1", "p1"),
        cache_key("fp", {"live": 5}, "m2", "p1"),
        cache_key("fp", {"live": 5}, "m1", "p2"),
    }
    assert base not in others
    assert len(others) == 4
