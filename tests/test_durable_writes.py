"""write_atomic(durable=True) fsyncs the folder after the rename, not only the file: the file's fsync keeps its
bytes, but after a power cut the rename (its name in the folder) could be lost, leaving the old file. Where a
folder cannot be opened or synced, the write goes on without it."""

from __future__ import annotations

import errno
import os
import stat

import pytest

from gdlab.rundir import write_atomic


def count_fsyncs(monkeypatch, target):
    """Each fsync as (on a folder?, its inode, what `target` held then), in the order they came."""
    calls = []
    real = os.fsync

    def counting(fd):
        info = os.fstat(fd)
        calls.append((stat.S_ISDIR(info.st_mode), info.st_ino, target.read_text() if target.exists() else None))
        return real(fd)

    monkeypatch.setattr(os, "fsync", counting)
    return calls


def test_a_durable_write_fsyncs_the_file_then_its_folder_after_the_rename(tmp_path, monkeypatch):
    path = tmp_path / "summary.json"
    path.write_text("old")
    synced = count_fsyncs(monkeypatch, path)
    write_atomic(path, "new")
    # the temp file's bytes while the old file is still in place, then the folder holding the renamed new one
    assert synced == [(False, path.stat().st_ino, "old"), (True, tmp_path.stat().st_ino, "new")]
    assert path.read_text() == "new"


def test_a_write_that_is_not_durable_fsyncs_nothing(tmp_path, monkeypatch):
    synced = count_fsyncs(monkeypatch, tmp_path / "a.json")
    write_atomic(tmp_path / "a.json", "1", durable=False)
    assert synced == [] and (tmp_path / "a.json").read_text() == "1"


@pytest.mark.parametrize("refuse", ["open", "fsync"])
def test_a_folder_that_cannot_be_opened_or_synced_is_skipped(tmp_path, monkeypatch, refuse):
    real_open, real_fsync = os.open, os.fsync

    def no_folders(path, flags, *args, **kwargs):  # as on Windows: a folder is no file to open
        if os.path.isdir(path):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, flags, *args, **kwargs)

    def no_folder_sync(fd):  # as on some network filesystems
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_fsync(fd)

    monkeypatch.setattr(os, refuse, no_folders if refuse == "open" else no_folder_sync)
    write_atomic(tmp_path / "a.json", "1")
    assert (tmp_path / "a.json").read_text() == "1" and [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_a_disk_error_syncing_the_folder_names_the_file(tmp_path, monkeypatch):
    from gdlab.errors import GdlabError

    real = os.fsync

    def failing(fd):
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(errno.EIO, "Input/output error")
        return real(fd)

    monkeypatch.setattr(os, "fsync", failing)
    with pytest.raises(GdlabError, match=r"a\.json: cannot write \(Input/output error\)"):
        write_atomic(tmp_path / "a.json", "1")
