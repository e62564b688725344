"""Exercise checkers that explain what is wrong, and the tools that make and grade exercise notebooks.

In a notebook, import the chapter's checks and call them on what you wrote::

    from cnncourse.check import resnet as checks
    checks.check_basic_block(BasicBlock)

Each check prints one ✓ / ✗ line per property it tests (shapes, parameter counts, outputs with the
reference's weights, gradients) and, for a ✗, what to change. An exercise whose code still raises
``NotImplementedError`` is reported as "not attempted". ``checks.summary()`` ends the notebook with
"N of M exercises done".

Modules:

* :mod:`cnncourse.check.core` — results, the ✓ / ✗ report, the machine-readable channel the grader reads;
* :mod:`cnncourse.check.probes` — tensor-level helpers the checks share (weight transfer, tracing, …);
* :mod:`cnncourse.check.steps` — check steps the chapters share (shapes, counts, identity fall-back, …);
* :mod:`cnncourse.check.blocks` — reusable checks for the later chapters' building blocks (dense layer,
  squeeze-excitation, linear bottleneck, depthwise convolution, width/depth multipliers);
* :mod:`cnncourse.check.resnet`, :mod:`cnncourse.check.wide_resnet`, :mod:`cnncourse.check.senet`,
  :mod:`cnncourse.check.densenet`, :mod:`cnncourse.check.mobilenet_v1`, :mod:`cnncourse.check.mobilenet_v2`,
  :mod:`cnncourse.check.mobilenet_v3`, :mod:`cnncourse.check.nas`, :mod:`cnncourse.check.efficientnet` — the
  exercises of chapters 01–09; :mod:`cnncourse.check.transfer` —
  interlude 02b's (transfer learning);
* :mod:`cnncourse.check.assign` — ``python -m cnncourse assign``: student notebooks from solutions;
* :mod:`cnncourse.check.grade` — ``python -m cnncourse grade``: run submissions, write a table.

Importing this package does not import torch: the command line's ``assign`` and ``grade`` stay cheap.
"""
