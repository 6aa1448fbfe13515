"""A real headless browser for the HTML report's tests: Debian's chromium.

`chromium()` returns the browser's path, installing the `chromium` package with apt-get
when it is missing (the tests install what they need; CI does nothing by hand). `load()`
opens a local page offline (every host name resolves to nothing) and returns the DOM after
load and the console messages the page logged; `screenshot()` writes a PNG.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

INSTALL_TIMEOUT_S = 900
RUN_TIMEOUT_S = 120
_CONSOLE = re.compile(r":CONSOLE[:(]\d*\)?\]?\s*(.*)")


def chromium() -> str:
    """Path of the chromium binary, installed from Debian's archive when missing."""
    found = shutil.which("chromium")
    if found:
        return found
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        raise RuntimeError("chromium is missing and cannot be installed (needs root and apt-get)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([apt, "update", "-q"], check=True, env=env, timeout=INSTALL_TIMEOUT_S)
    subprocess.run(
        [apt, "install", "-y", "-q", "--no-install-recommends", "chromium"],
        check=True,
        env=env,
        timeout=INSTALL_TIMEOUT_S,
    )
    found = shutil.which("chromium")
    if found is None:
        raise RuntimeError("apt-get installed chromium but it is not on PATH")
    return found


def _flags(profile: str) -> list[str]:
    return [
        "--headless",
        "--disable-gpu",
        "--no-sandbox",  # the tests may run as root in a container
        "--no-first-run",
        "--disable-extensions",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        # Offline: any host name resolves to nothing, so a fetch would fail and be logged.
        "--host-resolver-rules=MAP * ~NOTFOUND",
    ]


@dataclass(frozen=True)
class Loaded:
    dom: str
    console: list[str]
    stderr: str


def load(page: Path) -> Loaded:
    """The page's DOM after load and its console messages."""
    with tempfile.TemporaryDirectory(prefix="dw-chromium-") as profile:
        done = subprocess.run(
            [chromium(), *_flags(profile), "--dump-dom", page.resolve().as_uri()],
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_S,
            check=True,
        )
    console = [m.group(1) for line in done.stderr.splitlines() if (m := _CONSOLE.search(line))]
    return Loaded(dom=done.stdout, console=console, stderr=done.stderr)


def screenshot(page: Path, out: Path, *, width: int = 1200, height: int = 1800) -> Path:
    """A PNG of the page's first `height` pixels at `width`."""
    with tempfile.TemporaryDirectory(prefix="dw-chromium-") as profile:
        subprocess.run(
            [
                chromium(),
                *_flags(profile),
                "--hide-scrollbars",
                f"--window-size={width},{height}",
                f"--screenshot={out.resolve()}",
                page.resolve().as_uri(),
            ],
            capture_output=True,
            timeout=RUN_TIMEOUT_S,
            check=True,
        )
    return out
