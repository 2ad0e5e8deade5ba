"""synthtl.files: outputs written whole or not at all, and file checksums."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from synthtl.files import sha256_of, written


def test_written_replaces_the_file_only_when_the_block_succeeds(tmp_path):
    target = tmp_path / "sub" / "prepared.npz"
    with written(target) as tmp:
        assert tmp.parent == target.parent and tmp.name == ".prepared.tmp.npz"  # suffix kept: NumPy adds none
        np.savez_compressed(tmp, x=np.arange(3))
    with np.load(target) as data:
        assert data["x"].tolist() == [0, 1, 2]
    before = target.read_bytes()

    with pytest.raises(RuntimeError, match="disk full"), written(target) as tmp:
        tmp.write_bytes(b"half a file")
        raise RuntimeError("disk full")
    assert target.read_bytes() == before  # the earlier result is untouched
    assert sorted(p.name for p in target.parent.iterdir()) == ["prepared.npz"]  # no temporary file left behind


def test_sha256_of_matches_hashlib_across_chunks(tmp_path):
    path = tmp_path / "blob.bin"
    payload = np.random.default_rng(0).bytes(200_000)  # several read chunks
    path.write_bytes(payload)
    assert sha256_of(path) == hashlib.sha256(payload).hexdigest()
