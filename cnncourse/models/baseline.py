"""The plain CNN of chapter 00: two convolutions, two fully connected layers, no shortcuts.

It is the "2 Conv + 2 FC" kind of network listed among the Fashion-MNIST benchmarks (Xiao, Rasul &
Vollgraf, 2017, arXiv:1708.07747, benchmark table of the dataset's README: 93.9% test accuracy) and a
direct descendant of LeNet-5 (LeCun, Bottou, Bengio & Haffner, 1998, "Gradient-Based Learning Applied
to Document Recognition"): convolution → non-linearity → subsampling, twice, then a classifier.

Where it departs from LeNet-5: 3×3 convolutions with padding (the VGG habit, Simonyan & Zisserman,
2014, arXiv:1409.1556), BatchNorm after each convolution (Ioffe & Szegedy, 2015, arXiv:1502.03167),
ReLU instead of scaled tanh, max pooling instead of trainable average subsampling, and dropout
before the last layer. The README entry does not publish its exact layer sizes; the widths here
(32, 64 channels, 128 hidden units, about 0.42M parameters) are our choice.

Chapter 00 uses it to show why simply stacking more plain layers stops helping, which opens ResNet.
"""

from __future__ import annotations

import torch
from torch import nn

from cnncourse.errors import CourseError
from cnncourse.layers import Conv2dNormActivation
from cnncourse.models._registry import check_model_arguments, register_model


class PlainCNN(nn.Module):
    """Two conv-BN-ReLU-maxpool stages, then flatten → hidden FC → ReLU → dropout → classifier FC.

    ``forward_features`` returns the last feature map (N, widths[-1], image_size/4, image_size/4);
    ``forward_head`` flattens it and applies the two fully connected layers. As in every course model,
    ``num_features`` is the channel count of that feature map (widths[-1]); ``hidden_features`` is the
    width entering the final classifier that ``reset_classifier`` replaces.
    """

    def __init__(
        self,
        *,
        num_classes: int = 10,
        in_channels: int = 1,
        image_size: int = 28,
        widths: tuple[int, int] = (32, 64),
        hidden_features: int = 128,
        dropout: float = 0.25,
    ) -> None:
        super().__init__()
        check_model_arguments(num_classes, in_channels)
        self.in_channels = in_channels
        if image_size % 4:
            raise CourseError(f"image_size must be a multiple of 4 (two 2×2 poolings), got {image_size}.")
        if not 0.0 <= dropout < 1.0:
            raise CourseError(f"dropout must be in [0, 1), got {dropout}.")
        first_width, second_width = widths
        self.features = nn.Sequential(
            Conv2dNormActivation(in_channels, first_width, kernel_size=3),
            nn.MaxPool2d(2),
            Conv2dNormActivation(first_width, second_width, kernel_size=3),
            nn.MaxPool2d(2),
        )
        flat_features = second_width * (image_size // 4) ** 2
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(flat_features, hidden_features)
        self.relu = nn.ReLU(inplace=True)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(hidden_features, num_classes)
        self.num_features = second_width
        self.hidden_features = hidden_features

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.fc1(self.flatten(x)))
        return self.classifier(self.dropout(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the last layer with a freshly initialised one for ``num_classes`` classes."""
        check_model_arguments(num_classes, self.in_channels)
        self.classifier = nn.Linear(self.hidden_features, num_classes)


@register_model(
    family="baseline",
    input_size=(1, 28, 28),
    paper="Xiao et al., 2017, arXiv:1708.07747 (Fashion-MNIST benchmark '2 Conv + 2 FC'); LeCun et al., 1998",
)
def plain_cnn(
    *,
    num_classes: int = 10,
    in_channels: int = 1,
    image_size: int = 28,
    widths: tuple[int, int] = (32, 64),
    hidden_features: int = 128,
    dropout: float = 0.25,
) -> PlainCNN:
    """The chapter-00 baseline: 2 conv + 2 FC layers (≈0.42M parameters at 1×28×28, 10 classes).

    ``image_size`` must match the input (28 for Fashion-MNIST, 32 for CIFAR-10) because the first
    fully connected layer sees the whole flattened feature map.
    """
    return PlainCNN(
        num_classes=num_classes,
        in_channels=in_channels,
        image_size=image_size,
        widths=widths,
        hidden_features=hidden_features,
        dropout=dropout,
    )
