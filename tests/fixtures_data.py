"""A tiny Fashion-MNIST written in the real idx.gz format, for tests that must not touch the real data.

``write_tiny_fashion_mnist(folder)`` writes the four files (64 train / 32 test images by default) with
the exact headers of the real dataset. Each class has its own bright horizontal band on a noisy
background, so a small CNN can learn them in a few steps. ``tests/`` has no ``__init__.py``, so pytest
puts it on ``sys.path``; import the fixtures into a conftest or a test module with::

    from fixtures_data import tiny_fashion_mnist, tiny_fashion_mnist_env  # noqa: F401
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

TINY_TRAIN = 64
TINY_TEST = 32
IMAGE_FILES = {True: "train-images-idx3-ubyte.gz", False: "t10k-images-idx3-ubyte.gz"}
LABEL_FILES = {True: "train-labels-idx1-ubyte.gz", False: "t10k-labels-idx1-ubyte.gz"}


def idx_bytes(array: np.ndarray) -> bytes:
    """``array`` (uint8) in the idx format: 0, 0, type 0x08, ndim, big-endian sizes, then the data."""
    if array.dtype != np.uint8:
        raise ValueError("idx_bytes writes uint8 arrays only")
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(struct.pack(">I", size) for size in array.shape)
    return header + np.ascontiguousarray(array).tobytes()


def write_idx_gz(path: Path, array: np.ndarray) -> Path:
    with gzip.open(path, "wb") as handle:
        handle.write(idx_bytes(array))
    return path


def tiny_images_and_labels(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` 28×28 uint8 images and labels 0..9 (every class present when count >= 10)."""
    generator = np.random.default_rng(seed)
    labels = (np.arange(count) % 10).astype(np.uint8)
    generator.shuffle(labels)
    images = generator.integers(0, 60, size=(count, 28, 28), dtype=np.uint8)
    for index, label in enumerate(labels):
        row = 2 + 2 * int(label)  # class k: a bright band on rows 2k+2 .. 2k+5
        images[index, row: row + 4, 4:24] = 230
    return images, labels


def write_tiny_fashion_mnist(folder: Path, train_count: int = TINY_TRAIN, test_count: int = TINY_TEST,
                             seed: int = 0) -> Path:
    """Write the four gzipped idx files into ``folder`` (created) and return it."""
    folder.mkdir(parents=True, exist_ok=True)
    for train, count in ((True, train_count), (False, test_count)):
        images, labels = tiny_images_and_labels(count, seed + (0 if train else 1))
        write_idx_gz(folder / IMAGE_FILES[train], images)
        write_idx_gz(folder / LABEL_FILES[train], labels)
    return folder


@pytest.fixture
def tiny_fashion_mnist(tmp_path: Path) -> Path:
    """A folder holding a tiny Fashion-MNIST (64 train / 32 test) in the real file format."""
    return write_tiny_fashion_mnist(tmp_path / "tiny-fashion-mnist")


@pytest.fixture
def tiny_fashion_mnist_env(tiny_fashion_mnist: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The tiny Fashion-MNIST, found through ``CNNCOURSE_DATA`` (so ``fashion_mnist()`` loads it)."""
    monkeypatch.setenv("CNNCOURSE_DATA", str(tiny_fashion_mnist))
    return tiny_fashion_mnist
