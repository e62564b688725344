"""cnncourse.viz: the figures hold the data they claim to show."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from cnncourse import viz
from cnncourse.errors import CourseError
from cnncourse.train import History

CLASSES = [f"class {i}" for i in range(10)]


def _history(train_accuracy: list[float], val: bool = True, fast: bool = False) -> History:
    epochs = list(range(1, len(train_accuracy) + 1))
    return History(
        epochs=epochs, train_loss=[2.0 / e for e in epochs], train_accuracy=train_accuracy,
        val_loss=[2.5 / e for e in epochs] if val else [], val_accuracy=[a - 0.05 for a in train_accuracy] if val else [],
        lr=[0.1] * len(epochs), seconds=[1.0] * len(epochs), images_per_second=[100.0] * len(epochs),
        steps=[10] * len(epochs), fast_mode=fast, device="cpu",
    )


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def test_plot_history_draws_train_and_validation_curves_in_percent() -> None:
    history = _history([0.5, 0.7, 0.8])
    figure = history.plot()
    assert isinstance(figure, Figure)
    loss_axes, accuracy_axes = figure.axes
    assert [line.get_label() for line in loss_axes.lines] == ["train", "validation"]
    train_line, val_line = accuracy_axes.lines
    assert list(train_line.get_ydata()) == pytest.approx([50.0, 70.0, 80.0])
    assert list(val_line.get_ydata()) == pytest.approx([45.0, 65.0, 75.0])
    assert val_line.get_linestyle() == "--"
    assert list(loss_axes.lines[0].get_ydata()) == pytest.approx([2.0, 1.0, 2.0 / 3])
    assert figure.get_suptitle() == ""
    assert _png(figure).startswith(b"\x89PNG")


def test_plot_history_compares_several_runs_from_objects_or_dicts() -> None:
    runs = [_history([0.5, 0.6]), _history([0.6, 0.9], val=False).to_dict()]
    figure = viz.plot_history(runs, labels=["plain", "resnet"])
    labels = [line.get_label() for line in figure.axes[1].lines]
    assert labels == ["plain train", "plain validation", "resnet train"]
    colors = [line.get_color() for line in figure.axes[1].lines]
    assert colors[0] == colors[1] != colors[2]
    with pytest.raises(CourseError, match="2 histories but 1 labels"):
        viz.plot_history(runs, labels=["only one"])
    with pytest.raises(CourseError, match="History"):
        viz.plot_history(42)  # type: ignore[arg-type]
    with pytest.raises(CourseError, match="empty"):
        viz.plot_history([])


def test_fast_mode_histories_are_marked_on_the_plot() -> None:
    figure = viz.plot_history(_history([0.2], fast=True))
    assert "fast mode" in figure.get_suptitle()


def test_show_images_titles_with_class_names_and_marks_mistakes() -> None:
    images = torch.arange(6 * 28 * 28, dtype=torch.int64).remainder(256).to(torch.uint8).view(6, 1, 28, 28)
    labels = torch.tensor([0, 1, 2, 3, 4, 5])
    figure = viz.show_images(images, labels, CLASSES, n=4, columns=2)
    shown = [axes for axes in figure.axes if axes.images]
    assert len(shown) == 4
    assert [axes.get_title() for axes in shown] == ["class 0", "class 1", "class 2", "class 3"]
    assert np.allclose(shown[1].images[0].get_array(), images[1, 0].numpy() / 255.0)

    predictions = torch.tensor([0, 9, 2, 3])
    figure = viz.show_images(images, labels, CLASSES, n=4, predictions=predictions)
    titles = [axes.title for axes in figure.axes if axes.images]
    assert titles[1].get_text() == "class 9\n(class 1)" and titles[1].get_color() != titles[0].get_color()


def test_show_images_rescales_normalised_batches_and_rejects_bad_shapes() -> None:
    normalised = torch.randn(3, 3, 8, 8) * 2
    figure = viz.show_images(normalised, [0, 1, 2], CLASSES, n=3)
    array = figure.axes[0].images[0].get_array()
    assert array.shape == (8, 8, 3) and array.min() >= 0.0 and array.max() <= 1.0 + 1e-6
    with pytest.raises(CourseError, match="shape"):
        viz.show_images(torch.zeros(2, 5, 8, 8), [0, 1], CLASSES)
    with pytest.raises(CourseError, match="1 labels for 2 images"):
        viz.show_images(torch.zeros(2, 1, 8, 8), [0], CLASSES, n=2)
    with pytest.raises(CourseError, match="index class_names"):
        viz.show_images(torch.zeros(1, 1, 8, 8), [12], CLASSES, n=1)


def test_confusion_matrix_plot_shows_row_normalised_shares() -> None:
    labels = torch.tensor([0, 0, 0, 1, 1, 2])
    predictions = torch.tensor([0, 0, 1, 1, 1, 0])
    figure = viz.plot_confusion_matrix(labels, predictions, ["a", "b", "c"])
    shown = figure.axes[0].images[0].get_array()
    expected = np.array([[2 / 3, 1 / 3, 0], [0, 1, 0], [1, 0, 0]])
    assert np.allclose(shown, expected)
    texts = [text.get_text() for text in figure.axes[0].texts]
    assert len(texts) == 9 and texts[:3] == ["0.67", "0.33", "0.00"]
    counts = viz.plot_confusion_matrix(labels, predictions, ["a", "b", "c"], normalize=False)
    assert np.array_equal(counts.axes[0].images[0].get_array(), [[2, 1, 0], [0, 2, 0], [1, 0, 0]])
    assert [t.get_text() for t in counts.axes[0].get_yticklabels()] == ["a", "b", "c"]
    assert _png(counts).startswith(b"\x89PNG")
