"""The report site in a real headless browser (Debian's chromium through chromium-driver and Selenium):
every page opens, every link resolves, every image loads, no console error, the code toggle works.

It does not skip: where the browser cannot run, it fails and says what is missing (`make setup`
installs chromium and chromium-driver with apt-get)."""

import os
import shutil
import tempfile
import time
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from musicrec.report import build_site
from musicrec.utils import PROJECT_ROOT

CHROMIUM = os.environ.get("MUSICREC_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("MUSICREC_CHROMEDRIVER", "/usr/bin/chromedriver")
# Chromium as root in a container, with no network and nothing of the user's profile.
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--window-size=1280,900")


def missing_browser_parts() -> list[str]:
    missing = []
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("the Python package selenium (pinned in requirements.txt: `make setup`)")
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not (Path(path).is_file() and os.access(path, os.X_OK)):
            missing.append(f"{path} (Debian package {package})")
    return missing


@pytest.fixture(scope="module")
def browser():
    missing = missing_browser_parts()
    if missing:
        pytest.fail("the report's browser test cannot run: missing " + "; ".join(missing) +
                    ". `make setup` installs chromium and chromium-driver with apt-get (as root or with sudo); "
                    "elsewhere install them and set MUSICREC_CHROMIUM and MUSICREC_CHROMEDRIVER.", pytrace=False)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="musicrec-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def local_path(url: str) -> Path:
    return Path(unquote(urlparse(url).path))


def crawl(driver, site: Path) -> dict:
    """Open every page reachable from the index; check it opens without console errors, its images
    load and its local links point at files (and anchors) that exist. Returns what it saw."""
    queue, seen, anchors, links, images, external = [(site / "index.html").as_uri()], [], {}, [], 0, []
    while queue:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.append(url)
        driver.get(url)
        assert driver.execute_script("return document.readyState") == "complete", url
        assert driver.title and driver.find_elements("css selector", "nav.mr-nav-top"), f"{url}: no title or nav"
        errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
        assert not errors, f"console errors on {url}: {errors}"
        broken = driver.execute_script(
            "return Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)")
        assert not broken, f"images that did not load on {url}: {broken}"
        images += driver.execute_script("return document.images.length")
        anchors[url] = set(driver.execute_script(
            "return Array.from(document.querySelectorAll('[id]')).map(e => e.id)"))
        for href in driver.execute_script("return Array.from(document.links).map(a => a.href)"):
            target, _, fragment = href.partition("#")
            if not target.startswith("file://"):
                external.append(href)
                continue
            assert local_path(target).is_file(), f"{url} links to a missing file: {href}"
            links.append((url, target, fragment))
            if target.endswith(".html"):
                queue.append(target)
    for page, target, fragment in links:
        assert not fragment or fragment in anchors[target], f"{page} links to a missing anchor: {target}#{fragment}"
    pages = {path.as_uri() for path in site.glob("*.html")}
    assert pages == set(seen), f"pages not reachable from the index: {pages - set(seen)}"
    return {"pages": seen, "links": len(links), "images": images, "external": external}


def check_code_toggle(driver, page_url: str) -> None:
    driver.get(page_url)
    blocks = driver.find_elements("css selector", "details.mr-code")
    code = driver.find_elements("css selector", "details.mr-code .jp-InputArea-editor")
    assert blocks and len(code) == len(blocks)
    assert not any(block.get_property("open") for block in blocks), "code is folded by default"
    assert not any(element.is_displayed() for element in code)
    toggle = driver.find_element("id", "mr-code-toggle")
    assert toggle.is_displayed() and toggle.text == "Show all code"
    toggle.click()
    assert all(block.get_property("open") for block in blocks) and all(element.is_displayed() for element in code)
    assert toggle.text == "Hide all code" and toggle.get_attribute("aria-pressed") == "true"
    toggle.click()
    assert not any(block.get_property("open") for block in blocks) and toggle.text == "Show all code"
    blocks[0].find_element("css selector", "summary").click()  # one cell opens on its own
    assert blocks[0].get_property("open") and code[0].is_displayed() and not code[-1].is_displayed()
    errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    assert not errors, errors


@pytest.fixture(scope="module")
def tiny_site(tiny_project, tmp_path_factory):
    notebooks, figures, headlines = tiny_project
    return build_site(tmp_path_factory.mktemp("browser") / "report", notebooks=notebooks, figures_dir=figures,
                      headlines=headlines)


def test_tiny_site_in_a_real_browser(browser, tiny_site):
    build = tiny_site
    seen = crawl(browser, build.index.parent)
    assert len(seen["pages"]) == 4 and seen["images"] >= 4 and not seen["external"]
    check_code_toggle(browser, build.pages[0].as_uri())
    # the navigation walks index -> 01 -> 02 -> 03 and back
    browser.get(build.index.as_uri())
    walked = [Path(browser.current_url).name]
    while browser.find_elements("css selector", "nav.mr-nav-top a.mr-next"):
        browser.find_element("css selector", "nav.mr-nav-top a.mr-next").click()
        walked.append(Path(browser.current_url).name)
    assert walked == ["index.html", "01_tiny.html", "02_plain.html", "03_grid_reward_functions.html"]
    browser.find_element("css selector", "nav.mr-nav-top a.mr-prev").click()
    assert Path(browser.current_url).name == "02_plain.html"
    # the headline row whose CSV is missing says so on the page
    browser.get(build.index.as_uri())
    unavailable = browser.find_elements("css selector", ".mr-unavailable")
    assert unavailable and "03_missing_table.csv is missing" in unavailable[0].get_attribute("title")
    assert browser.find_elements("css selector", "#problems li")


def test_the_crawl_catches_broken_images_links_and_script_errors(browser, tiny_site, tmp_path):
    def broken_copy(name, damage):
        site = tmp_path / name
        shutil.copytree(tiny_site.index.parent, site)
        damage(site)
        return site

    def lose_image(site):
        next(site.glob("01_tiny_files/*.png")).unlink()

    def lose_page(site):
        (site / "02_plain.html").unlink()

    def break_script(site):
        page = site / "01_tiny.html"
        page.write_text(page.read_text().replace("</body>", "<script>undefinedFunction();</script></body>"))

    for name, damage, message in (("image", lose_image, "console errors|images that did not load"),
                                  ("page", lose_page, "links to a missing file"),
                                  ("script", break_script, "console errors")):
        with pytest.raises(AssertionError, match=message):
            crawl(browser, broken_copy(name, damage))


@pytest.mark.slow
def test_committed_notebooks_site_in_a_real_browser(browser, tmp_path):
    started = time.perf_counter()
    build = build_site(tmp_path / "report", figures_dir=PROJECT_ROOT / "figures")
    seen = crawl(browser, build.index.parent)
    assert len(seen["pages"]) == len(build.pages) + 1 and not seen["external"]
    assert not build.problems, build.problems
    browser.get(build.index.as_uri())
    cards = browser.find_elements("css selector", ".mr-card")
    assert len(cards) == len(build.pages)
    assert len(browser.find_elements("css selector", ".mr-card img")) == len(build.pages), "a key figure per card"
    check_code_toggle(browser, build.pages[-1].as_uri())
    print(f"committed site: {len(seen['pages'])} pages, {seen['links']} links, {seen['images']} images, "
          f"{time.perf_counter() - started:.1f} s")
