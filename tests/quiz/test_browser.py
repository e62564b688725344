"""The quiz widget in a real JupyterLab, clicked in Debian's headless Chromium through Playwright.

JupyterLab runs on 127.0.0.1 on a free port with a random token, in a temporary folder holding a tiny
bank and a notebook whose one cell calls ``quiz.show``. The test runs the cell, picks a wrong option,
presses Check and reads that option's feedback; then picks the right option, presses Check and sees the
score change; it checks that the answer reached the progress file, and saves a screenshot to
``/tmp/cnncourse_quiz_browser.png``. A missing Chromium or Playwright fails the test with what to install.
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(240)]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT = Path("/tmp/cnncourse_quiz_browser.png")

BANK = """\
chapter: resnet
items:
  - id: resnet-001
    chapter: resnet
    kind: single
    prompt:
      ja: "ResNet-50 が使う残差ブロックはどれか。"
      en: "Which residual block does ResNet-50 use?"
    options:
      - text: {ja: "基本ブロック (3×3 畳み込み 2 層)", en: "The basic block (two 3×3 convolutions)"}
        correct: false
        feedback:
          ja: "基本ブロックは ResNet-18/34 のものです。"
          en: "The basic block belongs to ResNet-18 and ResNet-34; deeper networks switch to the bottleneck."
      - text: {ja: "ボトルネック (1×1, 3×3, 1×1)", en: "The bottleneck block (1×1, 3×3, 1×1 convolutions)"}
        correct: true
        feedback:
          ja: "正しい。"
          en: "Right: the 1×1 layers reduce and restore the width around the 3×3."
      - text:
          ja: "逆残差ブロック"
          en: "The inverted residual block of MobileNet v2, which expands before the depthwise convolution"
        correct: false
        feedback:
          ja: "MobileNet v2 のブロックです。"
          en: "That is MobileNet v2's block, two years later."
    explanation:
      ja: "ResNet-50/101/152 はボトルネックを使う。"
      en: "ResNet-50/101/152 use the bottleneck block (He et al., Fig. 5)."
    references: ["He et al., 2015, arXiv:1512.03385, Section 4.1"]
  - id: resnet-002
    chapter: resnet
    kind: true_false
    prompt:
      ja: "残差ブロックの出力は F(x) − x である。"
      en: "A residual block outputs F(x) − x."
    options:
      - text: {ja: "○", en: "True"}
        correct: false
        feedback: {ja: "和です。", en: "It is the sum F(x) + x."}
      - text: {ja: "×", en: "False"}
        correct: true
        feedback: {ja: "正しい。", en: "Right."}
    explanation: {ja: "y = F(x) + x", en: "y = F(x) + x"}
    references: ["He et al., 2015, arXiv:1512.03385, Section 3.1"]
"""


def _notebook(cell_source: str) -> dict[str, object]:
    return {
        "cells": [{"cell_type": "code", "execution_count": None, "id": "quiz-cell", "metadata": {},
                   "outputs": [], "source": cell_source}],
        "metadata": {
            "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for_server(url: str, process: subprocess.Popen[bytes], log: Path, deadline: float) -> None:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:]
            pytest.fail(f"JupyterLab exited with status {process.returncode}:\n{tail}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    tail = log.read_text(errors="replace")[-3000:]
    pytest.fail(f"JupyterLab did not answer within the time limit:\n{tail}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the server and its kernels: they run in their own process group, started by this test."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    try:  # kernels left behind by a server that died abruptly
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def test_quiz_widget_in_jupyterlab(tmp_path: Path) -> None:
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        pytest.fail("Playwright is missing: pip install playwright (its browser download is not needed).")
    if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
        pytest.fail("Chromium is missing: install the Debian package with 'apt-get install -y chromium'.")
    if importlib.util.find_spec("jupyterlab") is None:
        pytest.fail("JupyterLab is missing: pip install 'cnncourse[lab]' (or jupyterlab).")

    root = tmp_path / "lab"
    (root / "bank").mkdir(parents=True)
    (root / "bank" / "resnet.yaml").write_text(BANK, encoding="utf-8")
    cell = 'from cnncourse import quiz\nquiz.show("resnet", lang="en", directory="bank")'
    (root / "quiz.ipynb").write_text(json.dumps(_notebook(cell)), encoding="utf-8")
    settings = tmp_path / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    # No news/update toast over the notebook.
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}), encoding="utf-8"
    )
    home = tmp_path / "home"
    port, token = _free_port(), secrets.token_hex(16)
    env = {
        **os.environ,
        "CNNCOURSE_HOME": str(home),
        "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter_config"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "jupyter_runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces"),
        "IPYTHONDIR": str(tmp_path / "ipython"),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    env.pop("CNNCOURSE_NO_WIDGETS", None)
    env.pop("CNNCOURSE_PROGRESS", None)
    log = tmp_path / "jupyterlab.log"
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
        "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # containers and CI often run as root
        command.append("--allow-root")
    started = time.monotonic()
    with log.open("wb") as log_stream:
        server = subprocess.Popen(command, cwd=root, env=env, stdout=log_stream, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    try:
        _wait_for_server(f"http://127.0.0.1:{port}/api/status?token={token}", server, log, started + 90)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                page.goto(f"http://127.0.0.1:{port}/lab/tree/quiz.ipynb?token={token}", timeout=90_000)
                editor = page.locator(".jp-Notebook .jp-Cell .jp-InputArea-editor").first
                expect(editor).to_be_visible(timeout=90_000)
                # Run the cell once the kernel is connected and idle: earlier, JupyterLab drops the request.
                kernel_idle = page.locator(".jp-StatusBar-Widget", has_text="| Idle").first
                expect(kernel_idle).to_be_visible(timeout=90_000)
                editor.click()
                page.keyboard.press("Shift+Enter")

                quiz = page.locator(".cnncourse-quiz")
                expect(quiz).to_be_visible(timeout=60_000)
                # The live widget is drawn, not the static HTML kept for renderers without widgets.
                assert page.locator(".cnncourse-quiz-static").count() == 0
                expect(quiz).to_contain_text("Which residual block does ResNet-50 use?")
                score = quiz.locator(".widget-html", has_text="Score:")
                expect(score).to_contain_text("Score: 0 / 0 on the first try · solved 0 / 2")

                quiz.locator("label", has_text="The basic block").click()
                quiz.locator("button", has_text="Check").click()
                wrong_feedback = "The basic block belongs to ResNet-18 and ResNet-34"
                expect(quiz).to_contain_text(wrong_feedback, timeout=20_000)
                expect(quiz).to_contain_text("Not correct")
                expect(score).to_contain_text("Score: 0 / 1 on the first try · solved 0 / 2")

                quiz.locator("label", has_text="The bottleneck block").click()
                quiz.locator("button", has_text="Check").click()
                expect(quiz).to_contain_text("the 1×1 layers reduce and restore the width", timeout=20_000)
                expect(score).to_contain_text("Score: 0 / 1 on the first try · solved 1 / 2")
                expect(quiz).to_contain_text("ResNet-50/101/152 use the bottleneck block")
                page.screenshot(path=str(SCREENSHOT), full_page=False)

                quiz.locator("button", has_text="Next").click()
                expect(quiz).to_contain_text("A residual block outputs F(x) − x.", timeout=20_000)
            finally:
                browser.close()
        progress = json.loads((home / "quiz_progress.json").read_text(encoding="utf-8"))["items"]
        assert (progress["resnet-001"]["attempts"], progress["resnet-001"]["correct"]) == (1, 0)
        assert time.monotonic() - started < 120, "the browser test should stay well under two minutes"
    finally:
        _stop(server)
