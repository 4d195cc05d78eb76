"""report.html in a real browser: headless Chromium renders it from disk, with no network and no console errors.

The screenshot stays in the results directory (report.png), as it would next to a real run's report.
"""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed: `apt-get install -y chromium` (`make system-deps` does it)")

FAULT_SHADE = (230, 235, 254)  # FAULT_COLOURS[0] at alpha 0.18 over white
VERDICT_RED = (224, 49, 49)


def chromium(profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
               "--enable-logging=stderr", "--v=0", *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def pixels_near(image: Image.Image, colour: tuple[int, int, int], tolerance: int = 6) -> int:
    return sum(n for n, rgb in image.getcolors(maxcolors=1 << 24) or []
               if all(abs(a - b) <= tolerance for a, b in zip(rgb[:3], colour, strict=True)))


def test_the_report_renders_its_anomalies_and_plots_without_console_errors(reported_dir: Path, tmp_path: Path) \
        -> None:
    url = (reported_dir / "report.html").resolve().as_uri()
    dom = chromium(tmp_path / "profile", "--dump-dom", url)
    assert 'id="anomaly-lost-write"' in dom.stdout and "lost-write" in dom.stdout
    images = re.findall(r'<img id="plot-[a-z-]+" alt="[^"]*" src="data:image/png;base64,', dom.stdout)
    assert len(images) == 3
    console = [line for line in dom.stderr.splitlines() if re.search(r":CONSOLE[(:]", line)]
    assert console == []


def test_a_screenshot_shows_the_verdict_and_the_shaded_fault_windows(reported_dir: Path, tmp_path: Path) -> None:
    screenshot = reported_dir / "report.png"
    url = (reported_dir / "report.html").resolve().as_uri()
    chromium(tmp_path / "profile", f"--screenshot={screenshot}", "--window-size=1280,2000",
             "--hide-scrollbars", url)
    with Image.open(screenshot) as image:
        rgb = image.convert("RGB")
        assert rgb.size == (1280, 2000)
        assert pixels_near(rgb, VERDICT_RED) > 500  # the INVALID badge's CSS applied
        assert pixels_near(rgb, FAULT_SHADE) > 5_000  # the plots decoded and drew the fault window
