"""Headless Chromium (Debian's ``chromium`` and ``chromium-driver``) through Selenium, with a
clear message saying what to install when either is missing."""

import base64
import shutil
import tempfile
from pathlib import Path

INSTALL_HINT = (
    "The browser is missing: {missing}.\n"
    "Install the test extra and Chromium with its driver:\n"
    "  .venv/bin/pip install -e '.[test]'\n"
    "  apt-get install -y chromium chromium-driver"
)
#: Headless, as root, offline: no sandbox (root), no GPU, and nothing that calls home.
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--hide-scrollbars", "--force-color-profile=srgb",
    "--font-render-hinting=none",
    # http stays http: no upgrade attempt to https on our loopback server.
    "--disable-features=HttpsUpgrades,HttpsFirstBalancedModeAutoEnable,Translate",
)
PHONE = (360, 740)
NARROW_PHONE = (320, 640)
DESKTOP = (1280, 900)


class BrowserMissing(RuntimeError):
    """Selenium, chromium or chromedriver is not installed."""


def _find(*names: str) -> str | None:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    return None


def start(host_map: dict[str, str] | None = None, javascript: bool = True,
          size: tuple[int, int] = PHONE):
    """A new headless Chromium with an empty profile. ``host_map`` sends a host (``idp.test``)
    to a loopback address and port (``127.0.0.1:8123``), so the pages keep their issuer's links."""
    missing = []
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        missing.append("the Python package selenium")
    binary = _find("chromium", "chromium-browser")
    driver_path = _find("chromedriver")
    if binary is None:
        missing.append("chromium")
    if driver_path is None:
        missing.append("chromedriver (package chromium-driver)")
    if missing:
        raise BrowserMissing(INSTALL_HINT.format(missing=", ".join(missing)))
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    profile = tempfile.mkdtemp(prefix="idp-chromium-")
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument("--lang=nl-NL")
    if host_map:
        rules = ", ".join(f"MAP {host} {target}" for host, target in host_map.items())
        options.add_argument(f"--host-resolver-rules={rules}")
    if not javascript:
        options.add_argument("--blink-settings=scriptEnabled=false")
    driver = webdriver.Chrome(options=options, service=Service(driver_path))
    driver.profile_dir = Path(profile)
    set_viewport(driver, *size)
    return driver


def set_viewport(driver, width: int, height: int) -> None:
    """The page's CSS viewport, exactly (a headless window has a minimum width of its own)."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600,
    })


def stop(driver) -> None:
    driver.quit()
    shutil.rmtree(driver.profile_dir, ignore_errors=True)


def screenshot(driver, path: Path, full_page: bool = True, element=None, margin=8) -> Path:
    """A PNG of the page: the whole page's height when ``full_page``, else what the screen
    shows; or only ``element`` (with a margin), even where it reaches below the screen."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if element is not None:
        x, y, width, height, page_width = driver.execute_script(
            "const r = arguments[0].getBoundingClientRect();"
            "return [r.left + scrollX, r.top + scrollY, r.width, r.height,"
            "        document.documentElement.scrollWidth];", element)
        left = max(0, x - margin)
        clip = {"x": left, "y": max(0, y - margin),
                "width": min(x + width + margin, page_width) - left, "height": height + 2 * margin}
    elif full_page:
        size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"]}
    else:
        driver.save_screenshot(str(path))
        return path
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True, "clip": {**clip, "scale": 1},
    })
    path.write_bytes(base64.b64decode(shot["data"]))
    return path
