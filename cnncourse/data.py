"""Datasets as in-memory tensors, and a batch iterator that augments whole batches at once.

Fashion-MNIST (Xiao, Rasul & Vollgraf, 2017, arXiv:1708.07747) is the course's default: 70,000 grey
28×28 pictures of clothes in 10 balanced classes, a drop-in replacement for MNIST that is harder to
solve. It is found offline first, in this order:

1. the ``root=`` argument,
2. the folder named by the environment variable ``CNNCOURSE_DATA``,
3. the user cache ``settings.user_cache_dir() / "fashion-mnist"``,
4. ``/usr/share/datasets/fashion-mnist`` (Debian package ``dataset-fashion-mnist``),
5. a download into the user cache through torchvision's mirror list (only with ``download=True``).

In each folder the four idx files are looked for directly, in a ``fashion-mnist`` subfolder and in
torchvision's own layout (``FashionMNIST/raw``), gzipped or not. The files are read by our own idx
parser into ``uint8`` tensors, so loading takes well under a second and nothing is unpickled.

CIFAR-10 (Krizhevsky, 2009, "Learning Multiple Layers of Features from Tiny Images") comes through
torchvision for learners who are online; it uses the same lookup order for its folder.

:class:`Batches` replaces ``DataLoader`` + per-sample transforms: it indexes a whole batch of the
``uint8`` tensor, pads and crops every image at its own random offset with one gather, flips a random
half with one ``torch.where``, and normalises in one fused multiply-add. This is what makes
``cnncourse.train`` faster than a textbook loop (see ``benchmarks/train_throughput.py``).
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch

from cnncourse import settings
from cnncourse.errors import CourseError, UnknownNameError

#: The Debian package ``dataset-fashion-mnist`` installs the four gzipped idx files here.
SYSTEM_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")

_IDX_UNSIGNED_BYTE = 0x08


@dataclass(frozen=True)
class DatasetSpec:
    """Facts about one dataset: its shape, classes and the normalisation constants of its train set."""

    name: str
    channels: int
    image_size: int
    train_size: int
    test_size: int
    classes: tuple[str, ...]
    classes_ja: tuple[str, ...]
    #: Per-channel mean and (population) standard deviation of the train set's pixels scaled to [0, 1].
    mean: tuple[float, ...]
    std: tuple[float, ...]
    #: Name of the folder inside a data root / the user cache.
    folder: str

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def input_size(self) -> tuple[int, int, int]:
        return (self.channels, self.image_size, self.image_size)


SPECS: dict[str, DatasetSpec] = {
    "fashion-mnist": DatasetSpec(
        name="fashion-mnist",
        channels=1,
        image_size=28,
        train_size=60_000,
        test_size=10_000,
        # Label order of the dataset's README (Xiao et al., 2017, Table 1).
        classes=(
            "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
            "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
        ),
        classes_ja=(
            "Tシャツ/トップス", "ズボン", "プルオーバー", "ドレス", "コート",
            "サンダル", "シャツ", "スニーカー", "バッグ", "アンクルブーツ",
        ),
        # Measured over all 60000×28×28 train pixels: mean 0.286041, std 0.353024 (tests/test_data.py
        # measures them again from the real files).
        mean=(0.2860,),
        std=(0.3530,),
        folder="fashion-mnist",
    ),
    "cifar10": DatasetSpec(
        name="cifar10",
        channels=3,
        image_size=32,
        train_size=50_000,
        test_size=10_000,
        classes=(
            "airplane", "automobile", "bird", "cat", "deer",
            "dog", "frog", "horse", "ship", "truck",
        ),
        classes_ja=("飛行機", "自動車", "鳥", "猫", "鹿", "犬", "カエル", "馬", "船", "トラック"),
        # Per-channel statistics of the 50,000 train images over all pixels (population std), as
        # published widely; not re-measured by the offline tests (CIFAR-10 needs a download), check
        # with measure_mean_std(cifar10()). Code that normalises with std (0.2023, 0.1994, 0.2010)
        # uses a different, smaller spread than the per-pixel one.
        mean=(0.4914, 0.4822, 0.4465),
        std=(0.2470, 0.2435, 0.2616),
        folder="cifar10",
    ),
}

_FASHION_FILES: dict[bool, tuple[str, str]] = {
    True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def dataset_names() -> list[str]:
    """The dataset names :func:`load_dataset` accepts."""
    return sorted(SPECS)


def dataset_spec(name: str) -> DatasetSpec:
    """The :class:`DatasetSpec` of ``name``; unknown names raise with the close matches."""
    try:
        return SPECS[name]
    except KeyError:
        raise UnknownNameError("dataset", name, SPECS) from None


# --------------------------------------------------------------------------------------------------
# The dataset object
# --------------------------------------------------------------------------------------------------


class ImageDataset:
    """A labelled image dataset held in memory as tensors.

    ``images`` is ``uint8`` of shape (N, C, H, W), ``labels`` is ``int64`` of shape (N,). Indexing gives
    ``(image, label)`` with the ``uint8`` image, like torchvision datasets before their transforms.
    """

    def __init__(
        self,
        spec: DatasetSpec,
        images: torch.Tensor,
        labels: torch.Tensor,
        *,
        train: bool,
        source: Path | None = None,
    ) -> None:
        if images.dtype != torch.uint8 or images.dim() != 4:
            raise CourseError(f"images must be a uint8 tensor of shape (N, C, H, W), got {images.dtype} "
                              f"{tuple(images.shape)}.")
        if labels.dtype != torch.int64 or labels.shape != images.shape[:1]:
            raise CourseError(f"labels must be int64 with one label per image, got {labels.dtype} "
                              f"{tuple(labels.shape)} for {images.shape[0]} images.")
        if images.shape[1] != spec.channels:
            raise CourseError(f"{spec.name} images have {spec.channels} channel(s), got {images.shape[1]}.")
        self.spec = spec
        self.images = images
        self.labels = labels
        self.train = train
        #: The folder the data was read from (None when built from tensors).
        self.source = source

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def classes(self) -> list[str]:
        return list(self.spec.classes)

    @property
    def classes_ja(self) -> list[str]:
        return list(self.spec.classes_ja)

    @property
    def num_classes(self) -> int:
        return self.spec.num_classes

    @property
    def input_size(self) -> tuple[int, int, int]:
        return tuple(self.images.shape[1:])  # type: ignore[return-value]

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.images[index], int(self.labels[index])

    def take(self, count: int) -> ImageDataset:
        """The first ``count`` items as a new dataset sharing memory (the files are already shuffled)."""
        if count < 1:
            raise CourseError(f"take(count) needs count >= 1, got {count}.")
        return ImageDataset(self.spec, self.images[:count], self.labels[:count], train=self.train,
                            source=self.source)

    def __repr__(self) -> str:
        split = "train" if self.train else "test"
        return (f"ImageDataset({self.name!r}, {split}, {len(self)} images of "
                f"{'×'.join(map(str, self.input_size))}, {self.num_classes} classes)")


# --------------------------------------------------------------------------------------------------
# Finding and reading the files
# --------------------------------------------------------------------------------------------------


def _candidate_roots(root: str | os.PathLike[str] | None, name: str) -> list[Path]:
    """Folders to look in, in the documented order (the system folder only exists for Fashion-MNIST)."""
    roots: list[Path] = []
    if root is not None:
        roots.append(Path(root).expanduser())
    from_env = os.environ.get("CNNCOURSE_DATA")
    if from_env:
        roots.append(Path(from_env).expanduser())
    roots.append(settings.user_cache_dir() / SPECS[name].folder)
    if name == "fashion-mnist":
        roots.append(SYSTEM_FASHION_MNIST)
    return roots


def _find_file(folder: Path, stem: str) -> Path | None:
    for candidate in (folder / f"{stem}.gz", folder / stem):
        if candidate.is_file():
            return candidate
    return None


def _fashion_folder(root: Path) -> Path | None:
    """``root`` itself or a known subfolder of it that holds all four Fashion-MNIST files."""
    for folder in (root, root / "fashion-mnist", root / "FashionMNIST" / "raw"):
        stems = [*_FASHION_FILES[True], *_FASHION_FILES[False]]
        if all(_find_file(folder, stem) is not None for stem in stems):
            return folder
    return None


def _cifar_folder(root: Path) -> Path | None:
    """The folder that holds torchvision's ``cifar-10-batches-py`` (``root`` or ``root/cifar10``)."""
    for folder in (root, root / "cifar10"):
        if (folder / "cifar-10-batches-py" / "batches.meta").is_file():
            return folder
    return None


def locate(name: str, root: str | os.PathLike[str] | None = None) -> Path | None:
    """Where the files of dataset ``name`` are, following the lookup order; None if nowhere. Never downloads."""
    dataset_spec(name)
    find = _fashion_folder if name == "fashion-mnist" else _cifar_folder
    for candidate in _candidate_roots(root, name):
        found = find(candidate)
        if found is not None:
            return found
    return None


def how_to_get(name: str) -> str:
    """Every way to get dataset ``name`` onto this machine, as a message a learner can follow."""
    spec = dataset_spec(name)
    cache = settings.user_cache_dir() / spec.folder
    if name == "fashion-mnist":
        return "\n".join([
            "Fashion-MNIST was not found. Any one of these gets it:",
            (f"  1. Debian/Ubuntu: sudo apt-get install dataset-fashion-mnist "
             f"(installs it into {SYSTEM_FASHION_MNIST})."),
            ("  2. Put the four files train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
             "t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz in a folder and set "
             "CNNCOURSE_DATA=/that/folder (or pass root=...)."),
            (f"  3. On a machine with internet access, call cnncourse.data.fashion_mnist() once: it "
             f"downloads into {cache}; copy that folder here."),
            "     The files are also at https://github.com/zalandoresearch/fashion-mnist (data/fashion).",
            "  4. On Google Colab the download works out of the box.",
        ])
    return "\n".join([
        "CIFAR-10 was not found. Any one of these gets it:",
        f"  1. Call cnncourse.data.cifar10() on a machine with internet access: it downloads into {cache}.",
        ("  2. Copy a folder holding torchvision's 'cifar-10-batches-py' (from "
         "https://www.cs.toronto.edu/~kriz/cifar.html, the python version) here and set "
         "CNNCOURSE_DATA=/that/folder (or pass root=...)."),
        "  3. On Google Colab the download works out of the box.",
    ])


def _damaged(path: Path, problem: str) -> CourseError:
    return CourseError(
        f"The data file {path} is damaged: {problem}. Delete it and get it again (for example with "
        "'sudo apt-get install --reinstall dataset-fashion-mnist', or by deleting the folder and calling "
        "cnncourse.data.fashion_mnist() online)."
    )


def read_idx(path: str | os.PathLike[str], expected_dims: int | None = None) -> torch.Tensor:
    """Read an idx file (LeCun's MNIST format, optionally gzipped) of unsigned bytes into a uint8 tensor.

    The header is two zero bytes, a type byte (0x08 = unsigned byte), the number of dimensions, then
    one big-endian 32-bit size per dimension; the data follows in C order.
    """
    path = Path(path)
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as handle:
                raw = handle.read()
        else:
            raw = path.read_bytes()
    except (EOFError, gzip.BadGzipFile, zlib.error) as error:
        raise _damaged(path, f"it cannot be decompressed ({error})") from None
    except OSError as error:
        raise CourseError(f"Could not read the data file {path}: {error}.") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise _damaged(path, "it does not start with an idx header")
    if raw[2] != _IDX_UNSIGNED_BYTE:
        raise _damaged(path, f"its element type is 0x{raw[2]:02x}, expected 0x08 (unsigned byte)")
    dims = raw[3]
    if expected_dims is not None and dims != expected_dims:
        raise _damaged(path, f"it has {dims} dimensions, expected {expected_dims}")
    header_size = 4 + 4 * dims
    if len(raw) < header_size:
        raise _damaged(path, "its header is cut short")
    shape = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    expected = 1
    for size in shape:
        expected *= size
    actual = len(raw) - header_size
    if actual != expected:
        raise _damaged(path, f"its header promises {expected} bytes of data of shape {tuple(shape)} "
                             f"but it holds {actual} (truncated or padded)")
    # bytearray gives a writable buffer, so the tensor owns its memory without a warning or a copy later.
    return torch.frombuffer(bytearray(raw[header_size:]), dtype=torch.uint8).reshape(shape)


def _read_fashion(folder: Path, train: bool) -> tuple[torch.Tensor, torch.Tensor]:
    image_stem, label_stem = _FASHION_FILES[train]
    image_path = _find_file(folder, image_stem)
    label_path = _find_file(folder, label_stem)
    assert image_path is not None and label_path is not None  # _fashion_folder checked them
    images = read_idx(image_path, expected_dims=3)
    labels = read_idx(label_path, expected_dims=1)
    if images.shape[1:] != (28, 28):
        raise _damaged(image_path, f"its images are {tuple(images.shape[1:])}, expected 28×28")
    if images.shape[0] != labels.shape[0]:
        raise _damaged(label_path, f"it has {labels.shape[0]} labels for {images.shape[0]} images in "
                                   f"{image_path.name}")
    if labels.numel() and int(labels.max()) >= 10:
        raise _damaged(label_path, f"it holds label {int(labels.max())}, Fashion-MNIST labels are 0..9")
    return images.unsqueeze(1), labels.long()


def _download_fashion(folder: Path) -> None:
    """Fetch the four gzipped files from torchvision's mirrors (with their MD5 sums) into ``folder``."""
    from torchvision.datasets import FashionMNIST
    from torchvision.datasets.utils import download_url

    folder.mkdir(parents=True, exist_ok=True)
    for filename, md5 in FashionMNIST.resources:
        if (folder / filename).is_file():
            continue
        problems = []
        for mirror in FashionMNIST.mirrors:
            try:
                download_url(f"{mirror}{filename}", str(folder), filename=filename, md5=md5)
                break
            except (OSError, RuntimeError) as error:  # URLError is an OSError; a bad MD5 a RuntimeError
                problems.append(f"{mirror}: {error}")
        else:
            raise CourseError(
                f"Downloading {filename} failed ({'; '.join(problems)}).\n" + how_to_get("fashion-mnist")
            )


def fashion_mnist(
    train: bool = True, root: str | os.PathLike[str] | None = None, download: bool = True
) -> ImageDataset:
    """Fashion-MNIST's train (60,000) or test (10,000) split as an in-memory :class:`ImageDataset`.

    Looks in ``root``, ``$CNNCOURSE_DATA``, the user cache and the Debian package folder; downloads into
    the user cache only when nothing is found and ``download`` is true. Raises :class:`CourseError`
    saying how to get the data when it is nowhere, and naming the file when one is damaged.
    """
    folder = locate("fashion-mnist", root)
    if folder is None:
        if not download:
            raise CourseError(how_to_get("fashion-mnist"))
        folder = settings.user_cache_dir() / SPECS["fashion-mnist"].folder
        _download_fashion(folder)
    images, labels = _read_fashion(folder, train)
    return ImageDataset(SPECS["fashion-mnist"], images, labels, train=train, source=folder)


def cifar10(train: bool = True, root: str | os.PathLike[str] | None = None, download: bool = True) -> ImageDataset:
    """CIFAR-10's train (50,000) or test (10,000) split through torchvision, as an :class:`ImageDataset`.

    Same lookup order as :func:`fashion_mnist` (without a system folder); downloads into the user cache
    when ``download`` is true and nothing is found. Offline without the files: :class:`CourseError`.
    """
    from torchvision.datasets import CIFAR10

    folder = locate("cifar10", root)
    if folder is None:
        if not download:
            raise CourseError(how_to_get("cifar10"))
        folder = settings.user_cache_dir() / SPECS["cifar10"].folder
        folder.mkdir(parents=True, exist_ok=True)
    try:
        raw = CIFAR10(str(folder), train=train, download=download)
    except (OSError, RuntimeError) as error:  # no network (URLError), or a failed checksum
        raise CourseError(f"CIFAR-10 could not be loaded from {folder} ({error}).\n" + how_to_get("cifar10")) from None
    images = torch.from_numpy(raw.data).permute(0, 3, 1, 2).contiguous()  # HWC -> CHW
    labels = torch.tensor(raw.targets, dtype=torch.int64)
    return ImageDataset(SPECS["cifar10"], images, labels, train=train, source=folder)


def load_dataset(
    name: str, train: bool = True, root: str | os.PathLike[str] | None = None, download: bool = True
) -> ImageDataset:
    """Load dataset ``name`` (``"fashion-mnist"`` or ``"cifar10"``); unknown names list the close matches."""
    dataset_spec(name)
    loader = fashion_mnist if name == "fashion-mnist" else cifar10
    return loader(train=train, root=root, download=download)


def measure_mean_std(dataset: ImageDataset, chunk: int = 2048) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and population standard deviation of the pixels scaled to [0, 1].

    Sums and sums of squares are accumulated in float64 over chunks of ``chunk`` images, so even
    CIFAR-10's 150 million values never need more than a few megabytes at once.
    """
    channels = dataset.images.shape[1]
    total = torch.zeros(channels, dtype=torch.float64)
    total_squares = torch.zeros(channels, dtype=torch.float64)
    for start in range(0, len(dataset), chunk):
        block = dataset.images[start: start + chunk].double().div_(255.0).transpose(0, 1).reshape(channels, -1)
        total += block.sum(dim=1)
        total_squares += block.square().sum(dim=1)
    count = len(dataset) * dataset.images.shape[2] * dataset.images.shape[3]
    mean = total / count
    std = (total_squares / count - mean.square()).clamp_min(0).sqrt()
    return tuple(mean.tolist()), tuple(std.tolist())


# --------------------------------------------------------------------------------------------------
# Batched augmentation and the batch iterator
# --------------------------------------------------------------------------------------------------


def random_crop(images: torch.Tensor, padding: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Zero-pad every image by ``padding`` and crop it back at its own random offset, for a whole batch.

    Same distribution as torchvision's ``RandomCrop(size, padding)`` applied per image, but one gather
    for the batch: row and column indices are built from per-image offsets and used together.
    """
    if padding == 0:
        return images
    count, channels, height, width = images.shape
    padded = torch.nn.functional.pad(images, (padding, padding, padding, padding))
    offsets = torch.randint(0, 2 * padding + 1, (2, count), generator=generator).to(images.device)
    rows = offsets[0, :, None] + torch.arange(height, device=images.device)  # (N, H)
    cols = offsets[1, :, None] + torch.arange(width, device=images.device)  # (N, W)
    batch_index = torch.arange(count, device=images.device)[:, None, None, None]
    channel_index = torch.arange(channels, device=images.device)[None, :, None, None]
    return padded[batch_index, channel_index, rows[:, None, :, None], cols[:, None, None, :]]


def random_horizontal_flip(images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Mirror each image left-right with probability 1/2 (one ``where`` for the whole batch)."""
    flip = torch.rand(images.shape[0], generator=generator).to(images.device) < 0.5
    return torch.where(flip[:, None, None, None], images.flip(3), images)


class Batches:
    """Iterate over ``(images, labels)`` batches of an :class:`ImageDataset`, ready for a model.

    Images come out as float32, normalised with the dataset's train-set mean/std, on ``device``
    (optionally in channels_last memory format); labels as int64. With ``augment`` every batch gets a
    random crop with ``crop_padding`` pixels of zero padding and a random horizontal flip, applied to
    the ``uint8`` batch before normalisation (the same order as torchvision's
    ToTensor → RandomCrop → RandomHorizontalFlip → Normalize).

    The order is drawn from a generator seeded with ``seed + epoch`` (call :meth:`set_epoch`), so every
    process of a distributed run draws the same permutation and takes its own shard
    ``indices[rank::world_size]``; the list is padded by repeating its start so all shards have the same
    length (as ``DistributedSampler`` does) unless ``drop_last``. ``batch_size`` is the *global* batch:
    each of ``world_size`` processes gets ``batch_size // world_size`` images per step, so a run on N
    processes takes the same number of steps as on one.

    ``subset`` keeps only the first ``subset`` items (the files are already shuffled). ``flip=False``
    keeps the crop but never mirrors (for data where left and right differ, e.g. digits).
    ``pad_shards=False`` (what evaluation uses) leaves the shards uneven instead, so no image is
    counted twice.
    """

    def __init__(
        self,
        dataset: ImageDataset,
        batch_size: int = 128,
        *,
        shuffle: bool = False,
        drop_last: bool = False,
        augment: bool = False,
        crop_padding: int = 4,
        flip: bool = True,
        device: str | torch.device = "cpu",
        channels_last: bool = False,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        subset: int | None = None,
        pad_shards: bool = True,
    ) -> None:
        if not isinstance(dataset, ImageDataset):
            raise CourseError(f"Batches needs an ImageDataset (from cnncourse.data.load_dataset), got "
                              f"{type(dataset).__name__}.")
        if world_size < 1 or not 0 <= rank < world_size:
            raise CourseError(f"rank must be in 0..world_size-1, got rank={rank}, world_size={world_size}.")
        if batch_size < 1 or batch_size % world_size:
            raise CourseError(f"batch_size ({batch_size}) must be a positive multiple of the number of "
                              f"processes ({world_size}): it is the global batch, split evenly.")
        if subset is not None and subset < 1:
            raise CourseError(f"subset must be a positive number of images or None, got {subset}.")
        if crop_padding < 0:
            raise CourseError(f"crop_padding must be >= 0, got {crop_padding}.")
        self.dataset = dataset
        self.batch_size = batch_size
        self.local_batch_size = batch_size // world_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.augment = augment
        self.crop_padding = crop_padding
        self.flip = flip
        self.device = torch.device(device)
        self.channels_last = channels_last
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.pad_shards = pad_shards
        self.size = len(dataset) if subset is None else min(subset, len(dataset))
        self.epoch = 0
        mean = torch.tensor(dataset.spec.mean, dtype=torch.float32).view(1, -1, 1, 1)
        std = torch.tensor(dataset.spec.std, dtype=torch.float32).view(1, -1, 1, 1)
        # (x/255 - mean)/std == x * scale + shift: one fused multiply-add per pixel instead of three ops.
        self._scale = (1.0 / (255.0 * std)).to(self.device)
        self._shift = (-mean / std).to(self.device)
        self._images: torch.Tensor | None = None
        self._labels: torch.Tensor | None = None

    def set_epoch(self, epoch: int) -> None:
        """Use the order of epoch ``epoch`` (seed + epoch) on the next iteration."""
        self.epoch = epoch

    def _shard(self) -> torch.Tensor:
        if self.shuffle:
            generator = torch.Generator().manual_seed(self.seed + self.epoch)
            order = torch.randperm(self.size, generator=generator)
        else:
            order = torch.arange(self.size)
        if self.world_size > 1:
            if self.drop_last:
                order = order[: self.size - self.size % self.world_size]
            elif self.pad_shards and self.size % self.world_size:
                extra = self.world_size - self.size % self.world_size
                order = torch.cat([order, order[:extra]])
            order = order[self.rank:: self.world_size]
        return order

    @property
    def shard_size(self) -> int:
        """Number of items this process sees per epoch (before dropping a short last batch)."""
        return int(self._shard().numel())

    def __len__(self) -> int:
        items = self.shard_size
        if self.drop_last:
            return items // self.local_batch_size
        return math.ceil(items / self.local_batch_size)

    def _storage(self) -> tuple[torch.Tensor, torch.Tensor]:
        # Keep the whole uint8 set on the device (47 MB for Fashion-MNIST): a batch is then one index op
        # on the device instead of a host-to-device copy per step.
        if self._images is None or self._labels is None:
            self._images = self.dataset.images[: self.size].to(self.device)
            self._labels = self.dataset.labels[: self.size].to(self.device)
        return self._images, self._labels

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        images, labels = self._storage()
        order = self._shard().to(self.device)
        # A stream of its own per (seed, epoch, rank): shards must not share their crops and flips.
        augment_generator = torch.Generator().manual_seed(hash((self.seed, self.epoch, self.rank)) & 0x7FFF_FFFF)
        for batch_number in range(len(self)):
            index = order[batch_number * self.local_batch_size: (batch_number + 1) * self.local_batch_size]
            batch = images[index]
            if self.augment:
                batch = random_crop(batch, self.crop_padding, augment_generator)
                if self.flip:
                    batch = random_horizontal_flip(batch, augment_generator)
            batch = torch.addcmul(self._shift, batch.float(), self._scale)
            if self.channels_last:
                batch = batch.contiguous(memory_format=torch.channels_last)
            yield batch, labels[index]

    def __repr__(self) -> str:
        return (f"Batches({self.dataset.name}, {self.size} images, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, augment={self.augment}, device={self.device}, "
                f"rank={self.rank}/{self.world_size})")
