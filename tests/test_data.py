"""cnncourse.data: offline-first lookup, the idx reader and its errors, the datasets, batched augmentation."""

from __future__ import annotations

import gzip
import urllib.error
from pathlib import Path

import numpy as np
import pytest
import torch
from fixtures_data import (
    IMAGE_FILES,
    LABEL_FILES,
    idx_bytes,
    tiny_images_and_labels,
    write_tiny_fashion_mnist,
)

from cnncourse import data, settings
from cnncourse.errors import CourseError, UnknownNameError

REAL = Path("/usr/share/datasets/fashion-mnist")


@pytest.fixture
def no_system_data(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Pretend the Debian package is not installed and CNNCOURSE_DATA is unset."""
    monkeypatch.setattr(data, "SYSTEM_FASHION_MNIST", tmp_path / "not-installed")
    monkeypatch.delenv("CNNCOURSE_DATA", raising=False)


# --------------------------------------------------------------------------------------------------
# The real data (installed here and in CI by the Debian package dataset-fashion-mnist)
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_train() -> data.ImageDataset:
    assert (REAL / "train-images-idx3-ubyte.gz").is_file(), (
        "these tests need the real data: sudo apt-get install dataset-fashion-mnist")
    return data.fashion_mnist(train=True, root=REAL, download=False)


def test_real_fashion_mnist_counts_balance_and_first_labels(real_train: data.ImageDataset) -> None:
    test = data.fashion_mnist(train=False, root=REAL, download=False)
    assert len(real_train) == 60_000 and len(test) == 10_000
    assert real_train.images.shape == (60_000, 1, 28, 28) and real_train.images.dtype == torch.uint8
    assert real_train.labels.dtype == torch.int64
    assert torch.bincount(real_train.labels).tolist() == [6000] * 10
    assert torch.bincount(test.labels).tolist() == [1000] * 10
    # Read the first labels and the first image straight from the files, skipping the headers by hand.
    with gzip.open(REAL / "train-labels-idx1-ubyte.gz") as handle:
        raw_labels = handle.read(8 + 20)[8:]
    assert real_train.labels[:20].tolist() == list(raw_labels)
    with gzip.open(REAL / "t10k-labels-idx1-ubyte.gz") as handle:
        assert test.labels[:20].tolist() == list(handle.read(8 + 20)[8:])
    with gzip.open(REAL / "train-images-idx3-ubyte.gz") as handle:
        first_image = np.frombuffer(handle.read(16 + 784)[16:], dtype=np.uint8).reshape(28, 28)
    assert np.array_equal(real_train.images[0, 0].numpy(), first_image)
    image, label = real_train[0]
    assert image.shape == (1, 28, 28) and label == raw_labels[0]
    assert real_train.classes[9] == "Ankle boot" and real_train.classes_ja[9] == "アンクルブーツ"
    assert len(real_train.classes) == len(real_train.classes_ja) == 10


def test_normalisation_constants_are_the_measured_train_statistics(real_train: data.ImageDataset) -> None:
    # Measured independently of measure_mean_std: exact integer moments from the histogram of pixel values.
    def moments(images: torch.Tensor) -> tuple[float, float]:
        histogram = np.bincount(images.numpy().ravel(), minlength=256).astype(np.int64)
        values = np.arange(256, dtype=np.int64)
        count = int(histogram.sum())
        mean = int((values * histogram).sum()) / count / 255
        mean_square = int((values**2 * histogram).sum()) / count / 255**2
        return mean, (mean_square - mean**2) ** 0.5

    spec = data.SPECS["fashion-mnist"]
    mean, std = moments(real_train.images)
    assert spec.mean[0] == pytest.approx(mean, abs=5e-5) and spec.std[0] == pytest.approx(std, abs=5e-5)
    measured_mean, measured_std = data.measure_mean_std(real_train.take(5000))
    mean, std = moments(real_train.images[:5000])
    assert measured_mean[0] == pytest.approx(mean, rel=1e-9) and measured_std[0] == pytest.approx(std, rel=1e-9)


def test_real_data_is_found_in_the_system_folder_without_arguments(monkeypatch: pytest.MonkeyPatch,
                                                                  real_train: data.ImageDataset) -> None:
    monkeypatch.delenv("CNNCOURSE_DATA", raising=False)
    assert data.locate("fashion-mnist") == REAL
    assert data.load_dataset("fashion-mnist", train=False, download=False).source == REAL


# --------------------------------------------------------------------------------------------------
# Lookup order
# --------------------------------------------------------------------------------------------------


def test_lookup_order_root_then_env_then_cache_then_system(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    explicit = write_tiny_fashion_mnist(tmp_path / "explicit", train_count=20)
    from_env = write_tiny_fashion_mnist(tmp_path / "env", train_count=30)
    cache = write_tiny_fashion_mnist(settings.user_cache_dir() / "fashion-mnist", train_count=40)
    system = write_tiny_fashion_mnist(tmp_path / "system", train_count=50)
    monkeypatch.setattr(data, "SYSTEM_FASHION_MNIST", system)
    monkeypatch.setenv("CNNCOURSE_DATA", str(from_env))

    assert len(data.fashion_mnist(root=explicit, download=False)) == 20
    assert len(data.fashion_mnist(download=False)) == 30
    monkeypatch.delenv("CNNCOURSE_DATA")
    assert len(data.fashion_mnist(download=False)) == 40
    assert data.locate("fashion-mnist") == cache
    for file in cache.iterdir():
        file.unlink()
    loaded = data.fashion_mnist(download=False)
    assert len(loaded) == 50 and loaded.source == system


def test_torchvision_layout_and_uncompressed_files_are_found(tmp_path: Path, no_system_data: None) -> None:
    raw = tmp_path / "FashionMNIST" / "raw"
    write_tiny_fashion_mnist(raw, train_count=24)
    for gz in raw.glob("*.gz"):  # torchvision keeps the extracted copies too; keep only those
        gz.with_suffix("").write_bytes(gzip.decompress(gz.read_bytes()))
        gz.unlink()
    assert data.locate("fashion-mnist", root=tmp_path) == raw
    assert len(data.fashion_mnist(root=tmp_path, download=False)) == 24


def test_env_folder_with_a_fashion_mnist_subfolder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_tiny_fashion_mnist(tmp_path / "fashion-mnist", train_count=12)
    monkeypatch.setenv("CNNCOURSE_DATA", str(tmp_path))
    assert len(data.fashion_mnist(download=False)) == 12


def test_fixture_is_found_through_cnncourse_data(tiny_fashion_mnist_env: Path) -> None:
    train = data.load_dataset("fashion-mnist", train=True)
    test = data.load_dataset("fashion-mnist", train=False)
    assert (len(train), len(test)) == (64, 32)
    images, labels = tiny_images_and_labels(64, 0)
    assert torch.equal(train.images[:, 0], torch.from_numpy(images))
    assert train.labels.tolist() == labels.tolist()


# --------------------------------------------------------------------------------------------------
# Missing and damaged data
# --------------------------------------------------------------------------------------------------


def test_missing_data_without_download_lists_every_way_to_get_it(no_system_data: None) -> None:
    assert data.locate("fashion-mnist") is None
    with pytest.raises(CourseError) as caught:
        data.fashion_mnist(download=False)
    message = str(caught.value)
    for hint in ("apt-get install dataset-fashion-mnist", "CNNCOURSE_DATA", "internet", "Colab"):
        assert hint in message
    assert data.how_to_get("fashion-mnist") == message


def test_offline_download_gives_the_instructions_not_a_urllib_traceback(
    no_system_data: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torchvision.datasets.utils

    calls: list[str] = []

    def offline(url: str, *args: object, **kwargs: object) -> None:
        calls.append(url)
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(torchvision.datasets.utils, "download_url", offline)
    with pytest.raises(CourseError) as caught:
        data.fashion_mnist(download=True)
    assert calls and calls[0].endswith("train-images-idx3-ubyte.gz")
    message = str(caught.value)
    assert "name resolution" in message and "apt-get install dataset-fashion-mnist" in message
    assert not isinstance(caught.value, urllib.error.URLError)


def test_cifar10_offline_without_files_says_how_to_get_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CNNCOURSE_DATA", raising=False)
    with pytest.raises(CourseError, match="CIFAR-10 was not found") as caught:
        data.cifar10(root=tmp_path, download=False)
    assert "CNNCOURSE_DATA" in str(caught.value)

    import torchvision.datasets.cifar

    def offline(*args: object, **kwargs: object) -> None:
        raise urllib.error.URLError("network is unreachable")

    monkeypatch.setattr(torchvision.datasets.cifar, "download_and_extract_archive", offline)
    with pytest.raises(CourseError, match="network is unreachable") as caught:
        data.load_dataset("cifar10", root=tmp_path, download=True)
    assert "CIFAR-10 was not found" in str(caught.value)


def test_truncated_gzip_names_the_file(tiny_fashion_mnist: Path) -> None:
    path = tiny_fashion_mnist / IMAGE_FILES[True]
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(CourseError) as caught:
        data.fashion_mnist(root=tiny_fashion_mnist, download=False)
    assert str(path) in str(caught.value) and "damaged" in str(caught.value)
    assert "Delete it" in str(caught.value)


def test_idx_with_missing_bytes_names_the_file_and_the_sizes(tiny_fashion_mnist: Path) -> None:
    path = tiny_fashion_mnist / LABEL_FILES[False]
    complete = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(complete[:-5]))  # a valid gzip of a cut-off idx file
    with pytest.raises(CourseError, match="promises 32 bytes") as caught:
        data.fashion_mnist(train=False, root=tiny_fashion_mnist, download=False)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        (b"PK\x03\x04 not an idx file", "does not start with an idx header"),
        (bytes([0, 0, 0x0D, 1]) + (4).to_bytes(4, "big") + bytes(16), "element type is 0x0d"),
        (idx_bytes(np.zeros((3, 28, 28), dtype=np.uint8)), "3 dimensions, expected 1"),
        (bytes([0, 0, 8, 1, 0]), "header is cut short"),
    ],
)
def test_bad_headers_are_explained(tmp_path: Path, payload: bytes, problem: str) -> None:
    path = tmp_path / "train-labels-idx1-ubyte"
    path.write_bytes(payload)
    with pytest.raises(CourseError, match=problem):
        data.read_idx(path, expected_dims=1)


def test_label_count_mismatch_and_out_of_range_labels(tiny_fashion_mnist: Path) -> None:
    labels = tiny_fashion_mnist / LABEL_FILES[True]
    labels.write_bytes(gzip.compress(idx_bytes(np.zeros(10, dtype=np.uint8))))
    with pytest.raises(CourseError, match="10 labels for 64 images"):
        data.fashion_mnist(root=tiny_fashion_mnist, download=False)
    labels.write_bytes(gzip.compress(idx_bytes(np.full(64, 12, dtype=np.uint8))))
    with pytest.raises(CourseError, match="label 12"):
        data.fashion_mnist(root=tiny_fashion_mnist, download=False)


def test_unknown_dataset_names_suggest_close_matches() -> None:
    with pytest.raises(UnknownNameError, match="fashion-mnist") as caught:
        data.load_dataset("fashion_mnist")
    assert caught.value.close_matches == ["fashion-mnist"]
    with pytest.raises(UnknownNameError, match="cifar10"):
        data.load_dataset("cifar")
    with pytest.raises(UnknownNameError):
        data.locate("mnist-fashion")


# --------------------------------------------------------------------------------------------------
# Dataset object
# --------------------------------------------------------------------------------------------------


def test_dataset_object_interface(tiny_fashion_mnist_env: Path) -> None:
    train = data.fashion_mnist()
    image, label = train[3]
    assert image.dtype == torch.uint8 and image.shape == (1, 28, 28)
    assert isinstance(label, int) and label == int(train.labels[3])
    assert train.num_classes == 10 and train.input_size == (1, 28, 28)
    part = train.take(10)
    assert len(part) == 10 and torch.equal(part.images, train.images[:10])
    assert "64 images of 1×28×28" in repr(train)
    with pytest.raises(CourseError):
        train.take(0)
    with pytest.raises(CourseError, match="uint8"):
        data.ImageDataset(data.SPECS["fashion-mnist"], train.images.float(), train.labels, train=True)
    with pytest.raises(CourseError, match="one label per image"):
        data.ImageDataset(data.SPECS["fashion-mnist"], train.images, train.labels[:5], train=True)


# --------------------------------------------------------------------------------------------------
# Batched augmentation
# --------------------------------------------------------------------------------------------------


def test_random_crop_matches_a_window_of_the_padded_image_and_uses_every_offset() -> None:
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(1, 256, (2000, 2, 9, 7), dtype=torch.uint8, generator=generator)
    cropped = data.random_crop(images, padding=2, generator=generator)
    assert cropped.shape == images.shape and cropped.dtype == torch.uint8
    padded = torch.nn.functional.pad(images, (2, 2, 2, 2))
    seen = set()
    for index in range(images.shape[0]):
        matches = [(dy, dx) for dy in range(5) for dx in range(5)
                   if torch.equal(padded[index, :, dy: dy + 9, dx: dx + 7], cropped[index])]
        assert len(matches) == 1, f"image {index} is not a crop of its padded self"
        seen.add(matches[0])
    assert len(seen) == 25  # all (2·2+1)² offsets occur among 2000 images
    assert torch.equal(data.random_crop(images, padding=0), images)


def test_random_flip_flips_about_half_and_nothing_else() -> None:
    generator = torch.Generator().manual_seed(1)
    images = torch.randint(0, 256, (1000, 1, 5, 5), dtype=torch.uint8, generator=generator)
    flipped = data.random_horizontal_flip(images, generator)
    same = (flipped == images).flatten(1).all(1)
    mirrored = (flipped == images.flip(3)).flatten(1).all(1)
    assert bool((same | mirrored).all())
    assert 400 < int(mirrored.sum()) < 600  # Binomial(1000, 1/2): outside this range has p < 1e-9


def test_batches_normalise_like_the_per_sample_formula(tiny_fashion_mnist_env: Path) -> None:
    train = data.fashion_mnist()
    images, labels = next(iter(data.Batches(train, 16)))
    assert images.dtype == torch.float32 and images.shape == (16, 1, 28, 28) and labels.dtype == torch.int64
    expected = (train.images[:16].double() / 255.0 - 0.2860) / 0.3530
    assert torch.allclose(images.double(), expected, atol=1e-5)
    assert torch.equal(labels, train.labels[:16])


def test_batches_cover_every_image_once_and_reshuffle_per_epoch(tiny_fashion_mnist_env: Path) -> None:
    train = data.fashion_mnist()
    batches = data.Batches(train, 10, shuffle=True, seed=3)
    assert len(batches) == 7  # 64 images: 6 full batches and one of 4

    def epoch_labels(epoch: int) -> list[int]:
        batches.set_epoch(epoch)
        return torch.cat([labels for _, labels in batches]).tolist()

    first, again, second = epoch_labels(0), epoch_labels(0), epoch_labels(1)
    assert sorted(first) == sorted(train.labels.tolist())
    assert first == again and first != second
    dropping = data.Batches(train, 10, shuffle=True, drop_last=True)
    assert len(dropping) == 6 and sum(labels.numel() for _, labels in dropping) == 60


def test_batches_shard_by_rank_like_distributed_sampler(tiny_fashion_mnist_env: Path) -> None:
    train = data.fashion_mnist().take(63)
    # Tag every image with its index so the shards can be compared.
    tagged = data.ImageDataset(train.spec, torch.arange(63, dtype=torch.uint8).view(63, 1, 1, 1).expand(63, 1, 2, 2)
                               .contiguous(), train.labels, train=True)
    shards = []
    for rank in range(2):
        batches = data.Batches(tagged, 8, shuffle=True, seed=5, rank=rank, world_size=2)
        assert batches.local_batch_size == 4 and batches.shard_size == 32 and len(batches) == 8
        scale, shift = 1 / (255 * 0.3530), -0.2860 / 0.3530
        shards.append([round(float((images[i, 0, 0, 0] - shift) / scale)) for images, _ in batches
                       for i in range(images.shape[0])])
    assert len(set(shards[0]) & set(shards[1])) == 1  # 63 items padded to 64: one repeats across shards
    assert set(shards[0]) | set(shards[1]) == set(range(63))
    with pytest.raises(CourseError, match="multiple of the number of processes"):
        data.Batches(tagged, 9, world_size=2)
    with pytest.raises(CourseError, match="rank"):
        data.Batches(tagged, 8, rank=2, world_size=2)


def test_batches_augment_subset_and_channels_last(tiny_fashion_mnist_env: Path) -> None:
    train = data.fashion_mnist()
    plain = data.Batches(train, 32, subset=40)
    augmented = data.Batches(train, 32, subset=40, augment=True, channels_last=True, seed=1)
    assert plain.size == 40 and len(plain) == 2
    (x_plain, y_plain), (x_aug, y_aug) = next(iter(plain)), next(iter(augmented))
    assert torch.equal(y_plain, y_aug) and not torch.equal(x_plain, x_aug)
    assert x_aug.is_contiguous(memory_format=torch.channels_last)
    # Crop padding is black in pixel space, i.e. (0 - mean)/std after normalisation.
    assert float(x_aug.min()) == pytest.approx(-0.2860 / 0.3530, abs=1e-5)
    again = next(iter(data.Batches(train, 32, subset=40, augment=True, channels_last=True, seed=1)))[0]
    assert torch.equal(x_aug, again)  # seeded
    with pytest.raises(CourseError, match="ImageDataset"):
        data.Batches(torch.zeros(3), 2)  # type: ignore[arg-type]
    with pytest.raises(CourseError, match="subset"):
        data.Batches(train, 8, subset=0)
