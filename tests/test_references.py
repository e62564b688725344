"""The reference-checkpoint manifest and ``python -m cnncourse references`` (status, train-missing, resume)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cnncourse import cli, references
from cnncourse.models import list_models
from cnncourse.recipes import RECIPES

ROOT = Path(__file__).resolve().parents[1]


def _manifest(tmp_path: Path, **changes: object) -> Path:
    entry = {"name": "tiny_ref", "chapter": "01", "model": "plain_cnn", "recipe": "fast", "epochs": 1,
             "purpose": "a test", "target": 0.05}
    entry.update(changes)
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps([entry, {"name": "tiny_gpu", "chapter": "02", "model": "plain_cnn",
                                        "recipe": "textbook", "epochs": 1, "purpose": "gpu", "size": "gpu"}]))
    return path


def test_train_missing_trains_in_order_then_reports_present(tiny_fashion_mnist_env: Path, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    manifest = _manifest(tmp_path)
    assert cli.main(["references", "--manifest", str(manifest), "--out", str(out), "--device", "cpu"]) == 0
    assert "missing" in capsys.readouterr().out

    assert cli.main(["references", "--manifest", str(manifest), "--out", str(out), "--train-missing",
                     "--device", "cpu"]) == 0
    printed = capsys.readouterr()
    assert "[1/1] tiny_ref (chapter 01)" in printed.out and "--recipe fast" in printed.out
    assert "skipping tiny_gpu: sized for a GPU" in printed.out
    assert (out / "tiny_ref.safetensors").exists() and not (out / "tiny_ref.state").exists()
    table = printed.out.splitlines()
    row = next(line for line in table if line.startswith("tiny_ref "))
    assert "present" in row and "✓" in row and "cpu:" in row
    metadata = json.loads((out / "tiny_ref.json").read_text())
    assert metadata["history"]["config"]["label_smoothing"] == 0.1  # the fast recipe was used
    assert metadata["history"]["config"]["flip_tta"] is True

    # Run again: nothing left to do.
    assert cli.main(["references", "--manifest", str(manifest), "--out", str(out), "--train-missing",
                     "--device", "cpu"]) == 0
    assert "Nothing to train" in capsys.readouterr().out

    # The manifest now asks for another recipe: the checkpoint is stale, named, and not retrained silently.
    stale = _manifest(tmp_path, recipe="textbook")
    assert cli.main(["references", "--manifest", str(stale), "--out", str(out), "--train-missing",
                     "--device", "cpu"]) == 0
    printed = capsys.readouterr().out
    assert "not retraining tiny_ref: stale" in printed and "label_smoothing 0.1 (manifest 0.0)" in printed


def test_a_damaged_checkpoint_is_reported_and_retrained(tiny_fashion_mnist_env: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    manifest = _manifest(tmp_path)
    cli.main(["references", "--manifest", str(manifest), "--out", str(out), "--train-missing", "--device", "cpu"])
    weights = out / "tiny_ref.safetensors"
    weights.write_bytes(weights.read_bytes()[:-10] + b"0123456789")
    capsys.readouterr()
    assert cli.main(["references", "--manifest", str(manifest), "--out", str(out), "--device", "cpu"]) == 1
    printed = capsys.readouterr().out
    assert "damaged" in printed and "sha256" in printed
    assert cli.main(["references", "--manifest", str(manifest), "--out", str(out), "--train-missing",
                     "--device", "cpu"]) == 0
    assert "present" in next(line for line in capsys.readouterr().out.splitlines() if line.startswith("tiny_ref "))


def test_an_interrupted_reference_run_is_resumed(tiny_fashion_mnist: Path, tmp_path: Path) -> None:
    """Stop a real two-epoch run after epoch 1, then `references --train-missing` continues it with --resume."""
    out = tmp_path / "out"
    manifest = _manifest(tmp_path, epochs=2)
    environment = {"PATH": "/usr/bin:/bin", "CNNCOURSE_DATA": str(tiny_fashion_mnist), "CNNCOURSE_FAST": "0",
                   "CNNCOURSE_HOME": str(tmp_path / "home"), "OMP_NUM_THREADS": "1"}
    first = subprocess.run([sys.executable, "-m", "cnncourse", "train", *references.manifest_from_file(manifest)[0]
                            .training_arguments(), "--out", str(out), "--stop-after", "1", "--batch-size", "16",
                            "--no-progress"], capture_output=True, text=True, env=environment, cwd=ROOT, timeout=300)
    assert first.returncode == 0, first.stderr
    assert "stopped after epoch 1 of 2" in first.stdout and (out / "tiny_ref.state").exists()
    assert not (out / "tiny_ref.safetensors").exists()
    entry = references.manifest_from_file(manifest)[0]
    assert references.training_command(entry, out, "cpu")[-1] == "--resume"


def test_unknown_chapter_and_bad_manifest_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(references.CourseError, match="No reference checkpoints for chapter.*99.*has chapters"):
        references.manifest_status(references.MANIFEST, only=["99"])
    bad = tmp_path / "bad.json"
    bad.write_text('[{"name": "x"}]')
    with pytest.raises(references.CourseError, match="Entry 1 of the manifest .*bad.json"):
        references.manifest_from_file(bad)
    bad.write_text("not json")
    with pytest.raises(references.CourseError, match="Could not read the manifest"):
        references.manifest_from_file(bad)


def test_the_course_manifest_is_consistent() -> None:
    names = [entry.name for entry in references.MANIFEST]
    assert len(names) == len(set(names))
    models = set(list_models())
    for entry in references.MANIFEST:
        assert entry.model in models, entry.name
        assert entry.recipe in RECIPES, entry.name
        assert entry.size in ("cpu", "gpu") and entry.epochs >= 1
        assert entry.target is None or 0.5 < entry.target < 1
    chapters = [entry.chapter for entry in references.MANIFEST]
    assert chapters == sorted(chapters)  # manifest order is course order


def test_every_shipped_checkpoint_is_in_the_manifest_and_none_is_stale() -> None:
    from cnncourse.pretrained import PACKAGE_CHECKPOINTS

    shipped = {path.stem for path in PACKAGE_CHECKPOINTS.glob("*.safetensors")}
    assert shipped <= set(entry.name for entry in references.MANIFEST)
    statuses = references.manifest_status(references.MANIFEST, PACKAGE_CHECKPOINTS)
    for status in statuses:
        if status.entry.name in shipped:
            assert status.state == "present", (status.entry.name, status.detail)
            if status.meets_target is False:  # shipped as measured: the checkpoints README must state the miss
                readme = " ".join((PACKAGE_CHECKPOINTS / "README.md").read_text(encoding="utf-8").split())
                assert f"{status.test_accuracy:.2%}, short of" in readme, (
                    f"{status.entry.name} misses its target ({status.test_accuracy:.2%} < {status.entry.target:.1%}): "
                    "say so in cnncourse/checkpoints/README.md, or retrain it")
