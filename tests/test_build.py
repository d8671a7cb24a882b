"""The compiled fast paths are built where only this user can write, and loaded only as built."""

from __future__ import annotations

import os
import stat

import pytest

from playground.fast import build

SOURCE = "int answer(void) { return 42; }\n"


@pytest.fixture()
def kernels(tmp_path, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "kernels"


def test_a_library_is_built_into_a_private_folder_and_loaded(kernels):
    library, reason = build.library("answer", SOURCE)
    assert reason is None and library.answer() == 42
    assert stat.S_IMODE(kernels.stat().st_mode) == 0o700
    (built,) = kernels.glob("answer-*.so")
    assert build.matches_record(built)


def test_a_folder_others_may_write_is_made_private(kernels):
    kernels.mkdir(parents=True)
    kernels.chmod(0o777)
    build.library("answer", SOURCE)
    assert stat.S_IMODE(kernels.stat().st_mode) == 0o700


def test_a_library_changed_after_it_was_built_is_rebuilt_not_loaded(kernels):
    build.library("answer", SOURCE)
    (built,) = kernels.glob("answer-*.so")
    good = built.read_bytes()
    swapped = built.with_name("swapped")
    swapped.write_bytes(good[: len(good) // 2])  # half-written, or replaced by someone else
    os.replace(swapped, built)  # a new file: the loaded one stays mapped as it was
    assert not build.matches_record(built)
    library, reason = build.library("answer", SOURCE)
    assert reason is None and library.answer() == 42
    assert build.matches_record(built) and built.read_bytes() == good


def test_the_key_covers_source_compiler_and_flags(kernels, tmp_path, monkeypatch):
    wrapper = tmp_path / "my-cc"
    wrapper.write_text('#!/bin/sh\nexec cc "$@"\n')
    wrapper.chmod(0o755)
    base = build.build_key(SOURCE, "cc")
    assert build.build_key(SOURCE + "\n", "cc") != base
    assert build.build_key(SOURCE, str(wrapper)) != base
    monkeypatch.setattr(build, "FLAGS", (*build.FLAGS, "-DEXTRA"))
    assert build.build_key(SOURCE, "cc") != base


def test_without_a_compiler_the_reason_is_given(kernels, monkeypatch):
    monkeypatch.setenv("CC", "/nonexistent/cc")
    monkeypatch.setenv("PATH", "/nonexistent")
    library, reason = build.library("answer", SOURCE)
    assert library is None and reason


def test_turned_off_by_the_environment(kernels, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_INT8", "0")
    assert build.library("answer", SOURCE) == (None, "turned off by PLAYGROUND_INT8=0")


def test_a_folder_of_another_user_is_refused(kernels, monkeypatch):
    kernels.mkdir(parents=True)
    monkeypatch.setattr(os, "getuid", lambda: os.stat(kernels).st_uid + 1)
    library, reason = build.library("answer", SOURCE)
    assert library is None and "belongs to another user" in reason
