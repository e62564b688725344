"""Plots for the chapters: training curves, image grids, confusion matrices.

Every function returns a :class:`matplotlib.figure.Figure` built directly (not through ``pyplot``), so
no global figure list fills up when a widget redraws. A notebook shows a returned figure as the cell's
value once matplotlib's inline display is on: run ``%matplotlib inline`` first (every chapter's import cell
does), and don't end the line with ``;``, which hides the value. Save one with ``fig.savefig(path)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import torch
from matplotlib.figure import Figure

from cnncourse.errors import CourseError

if TYPE_CHECKING:
    from cnncourse.train import History

#: Okabe & Ito's colour-blind-safe palette, used in order for several runs on one plot.
COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")


def _as_history(item: object) -> History:
    from cnncourse.train import History

    if isinstance(item, History):
        return item
    if isinstance(item, Mapping):
        return History.from_dict(dict(item))
    raise CourseError(f"plot_history needs a History (what fit() returns) or its to_dict(), got {type(item).__name__}.")


def plot_history(
    history_or_many: History | Mapping[str, object] | Sequence[History | Mapping[str, object]],
    labels: Sequence[str] | None = None,
) -> Figure:
    """Loss (left) and accuracy in % (right) per epoch; training solid, validation dashed.

    Pass one history or a list of them (e.g. a plain CNN against a ResNet) with ``labels`` naming
    each. Histories may be :class:`cnncourse.train.History` objects or their ``to_dict()`` form.
    """
    if isinstance(history_or_many, Sequence) and not isinstance(history_or_many, (str, bytes)):
        histories = [_as_history(item) for item in history_or_many]
    else:
        histories = [_as_history(history_or_many)]
    if not histories:
        raise CourseError("plot_history got an empty list: pass at least one History.")
    if labels is not None and len(labels) != len(histories):
        raise CourseError(f"plot_history got {len(histories)} histories but {len(labels)} labels; give one label each.")
    if labels is None:
        labels = [""] if len(histories) == 1 else [f"run {i + 1}" for i in range(len(histories))]

    figure = Figure(figsize=(10, 3.8), layout="constrained")
    loss_axes, accuracy_axes = figure.subplots(1, 2)
    for index, (history, label) in enumerate(zip(histories, labels)):
        if not history.epochs:
            raise CourseError(f"History {label or index + 1} has no epochs to plot.")
        color = COLORS[index % len(COLORS)]
        prefix = f"{label} " if label else ""
        marker = "o" if len(history.epochs) < 15 else None
        loss_axes.plot(history.epochs, history.train_loss, color=color, marker=marker, label=f"{prefix}train")
        accuracy_axes.plot(history.epochs, [100 * a for a in history.train_accuracy], color=color, marker=marker,
                           label=f"{prefix}train")
        if history.has_validation:
            loss_axes.plot(history.epochs, history.val_loss, color=color, linestyle="--", marker=marker,
                           label=f"{prefix}validation")
            accuracy_axes.plot(history.epochs, [100 * a for a in history.val_accuracy], color=color,
                               linestyle="--", marker=marker, label=f"{prefix}validation")
    loss_axes.set(xlabel="epoch", ylabel="cross-entropy loss", title="loss")
    accuracy_axes.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
    for axes in (loss_axes, accuracy_axes):
        axes.grid(alpha=0.3)
        axes.legend(fontsize="small")
        axes.xaxis.get_major_locator().set_params(integer=True)
    if any(history.fast_mode for history in histories):
        figure.suptitle("fast mode (CNNCOURSE_FAST=1): shrunk data and epochs, numbers are not meaningful",
                        fontsize="small", color="#D55E00")
    return figure


def _displayable(images: torch.Tensor) -> torch.Tensor:
    """Images as float (N, H, W, C) in [0, 1]: uint8 is divided by 255, other floats are min-max scaled."""
    images = torch.as_tensor(images).detach().cpu()
    if images.dim() == 3:  # (N, H, W) grey images
        images = images.unsqueeze(1)
    if images.dim() != 4 or images.shape[1] not in (1, 3):
        raise CourseError(f"show_images needs images of shape (N, 1 or 3, H, W) or (N, H, W), got {tuple(images.shape)}.")
    if images.dtype == torch.uint8:
        images = images.float() / 255.0
    else:
        images = images.float()
        low = images.amin(dim=(1, 2, 3), keepdim=True)
        high = images.amax(dim=(1, 2, 3), keepdim=True)
        if float(low.min()) < 0.0 or float(high.max()) > 1.0:  # normalised: stretch each image back to [0, 1]
            images = (images - low) / (high - low).clamp_min(1e-8)
    return images.permute(0, 2, 3, 1)


def show_images(
    images: torch.Tensor,
    labels: torch.Tensor | Sequence[int],
    class_names: Sequence[str],
    n: int = 16,
    *,
    predictions: torch.Tensor | Sequence[int] | None = None,
    columns: int = 8,
) -> Figure:
    """A grid of the first ``n`` images titled with their class names.

    With ``predictions`` each title reads "predicted (true)" and is red where they differ. Images
    may be ``uint8`` (as stored in the datasets) or float (normalised batches are rescaled for display).
    """
    pictures = _displayable(images)
    labels = torch.as_tensor(labels).long().flatten().cpu()
    count = min(n, pictures.shape[0])
    if count < 1:
        raise CourseError("show_images got no images to show (n must be >= 1 and images not empty).")
    if labels.numel() < count:
        raise CourseError(f"show_images got {labels.numel()} labels for {count} images.")
    if int(labels[:count].max()) >= len(class_names) or int(labels[:count].min()) < 0:
        raise CourseError(f"labels must index class_names (0..{len(class_names) - 1}).")
    predicted = None if predictions is None else torch.as_tensor(predictions).long().flatten().cpu()
    if predicted is not None and predicted.numel() < count:
        raise CourseError(f"show_images got {predicted.numel()} predictions for {count} images.")

    columns = max(1, min(columns, count))
    rows = -(-count // columns)
    figure = Figure(figsize=(1.5 * columns, 1.75 * rows), layout="constrained")
    grid = figure.subplots(rows, columns, squeeze=False)
    for index, axes in enumerate(grid.flat):
        axes.axis("off")
        if index >= count:
            continue
        picture = pictures[index]
        if picture.shape[2] == 1:
            axes.imshow(picture[:, :, 0].numpy(), cmap="gray_r", vmin=0.0, vmax=1.0)
        else:
            axes.imshow(picture.numpy())
        truth = class_names[int(labels[index])]
        if predicted is None:
            axes.set_title(truth, fontsize="small")
        else:
            guess = class_names[int(predicted[index])]
            wrong = int(predicted[index]) != int(labels[index])
            axes.set_title(f"{guess}\n({truth})", fontsize="x-small", color="#D55E00" if wrong else "black")
    return figure


def plot_confusion_matrix(
    labels: torch.Tensor | Sequence[int],
    predictions: torch.Tensor | Sequence[int],
    class_names: Sequence[str],
    *,
    normalize: bool = True,
) -> Figure:
    """Confusion matrix: rows are the true classes, columns the predicted ones.

    With ``normalize`` each row shows the share of that class (so the diagonal is per-class recall);
    otherwise raw counts. Each cell is annotated.
    """
    from cnncourse.train import confusion_matrix

    matrix = confusion_matrix(torch.as_tensor(labels), torch.as_tensor(predictions), len(class_names)).double()
    if normalize:
        matrix = matrix / matrix.sum(dim=1, keepdim=True).clamp_min(1)
    size = len(class_names)
    figure = Figure(figsize=(1.0 + 0.62 * size, 0.6 + 0.55 * size), layout="constrained")
    axes = figure.subplots()
    image = axes.imshow(matrix.numpy(), cmap="Blues", vmin=0.0, vmax=1.0 if normalize else None)
    figure.colorbar(image, ax=axes, shrink=0.8, label="share of the true class" if normalize else "images")
    brightest = float(matrix.max()) or 1.0
    for row in range(size):
        for column in range(size):
            value = float(matrix[row, column])
            text = f"{value:.2f}" if normalize else f"{int(value)}"
            axes.text(column, row, text, ha="center", va="center", fontsize="x-small",
                      color="white" if value > 0.6 * brightest else "black")
    axes.set_xticks(range(size), class_names, rotation=45, ha="right")
    axes.set_yticks(range(size), class_names)
    axes.set(xlabel="predicted", ylabel="true")
    return figure
