"""cnncourse: the support library of an interactive course on CNN architectures after ResNet.

Import what you need from the submodules (``cnncourse.models``, ``cnncourse.data``, ``cnncourse.train``,
``cnncourse.profile``, ``cnncourse.pretrained``, ``cnncourse.quiz``, ``cnncourse.check``, ``cnncourse.viz``).
Importing the package itself stays cheap: it does not import torch.
"""

from cnncourse.errors import CourseError

__version__ = "0.1.0"

__all__ = ["CourseError", "__version__"]
