"""The page's JavaScript and CSS, cached locally so the visualiser works without a CDN.

A Solara page loads its front end (the Vuetify app with its icon fonts — Material Design
Icons, Material Icons — and Roboto, require.js, Font Awesome) from
``/_solara/cdn/<package>@<version>/...``; the server answers from its cache folder and, on a
miss, fetches the file from a public CDN. A classroom or CI machine that cannot reach that
CDN gets a blank page. The same files are npm packages, so :func:`ensure_frontend_assets`
fetches them once with the ordinary ``npm`` client (``npm pack``) and unpacks each into the
cache folder under the name the server looks for. A package whose stylesheets name a font
file that is not in the cache counts as missing and is fetched again, so the icons never fall
back to the CDN. ecosim's own page adds :data:`EXTRA_PACKAGES` (html-to-image, for the PNG of
the whole page).

Run it once after installing (``.ci/run`` does)::

    python -m ecosim.viz.assets
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from importlib import metadata
from pathlib import Path

PAGE_IMAGE_PACKAGE = "html-to-image@1.11.13"
"""The npm package that draws the whole page as a PNG in the browser (the Export section's
*Whole page (PNG)* button), cached with Solara's own front end so that it works offline."""

EXTRA_PACKAGES = (PAGE_IMAGE_PACKAGE,)
"""Front-end packages ecosim's page loads itself, beyond those of Solara's page template."""

_CDN_SPEC = re.compile(r"\{\{\s*cdn\s*\}\}/((?:@[\w.-]+/)?[\w.-]+@\d[\w.-]*)/")


def cache_folder() -> Path:
    """The folder the Solara server serves ``/_solara/cdn/`` from."""
    from solara.server import settings

    return Path(settings.assets.proxy_cache_dir)


def required_packages() -> list[str]:
    """``package@version`` of every front-end package the installed Solara's page template loads.

    Read from the template itself (and the Font Awesome setting), so a Solara upgrade asks for
    its own versions. Only the Vuetify app matching the installed ipyvuetify (Vue 2 or Vue 3)
    is kept. :data:`EXTRA_PACKAGES` (what ecosim's own page loads) come last.
    """
    import solara.server
    from solara.server import settings

    template = Path(solara.server.__file__).parent / "templates" / "solara.html.j2"
    text = template.read_text(encoding="utf-8")
    if settings.assets.fontawesome_enabled:
        text += "{{cdn}}" + settings.assets.fontawesome_path
    specs = sorted(set(_CDN_SPEC.findall(text)))
    vue3 = int(metadata.version("ipyvuetify").split(".")[0]) >= 3
    unwanted = "@widgetti/solara-vuetify-app@" if vue3 else "@widgetti/solara-vuetify3-app@"
    return [spec for spec in specs if not spec.startswith(unwanted)] + list(EXTRA_PACKAGES)


_CSS_URL = re.compile(r"url\(\s*['\"]?([^'\")?#]+)")


def missing_font_files(package: Path) -> list[Path]:
    """Files that a cached package's stylesheets point to (``url(...)``: icon fonts, Roboto) but
    that are not in the cache.

    A page whose stylesheet names a font the server cannot find locally asks the public CDN for
    it; offline, every icon is then a blank square. ``data:`` URLs and absolute URLs are not files.
    """
    missing = []
    for css in sorted(package.rglob("*.css")):
        text = css.read_text(encoding="utf-8", errors="replace")
        for target in sorted(set(_CSS_URL.findall(text))):
            if target.startswith(("data:", "http:", "https:", "//")):
                continue
            path = (css.parent / target).resolve()
            if not path.is_file():
                missing.append(path)
    return missing


def missing_packages(folder: Path | None = None) -> list[str]:
    """The required packages not yet in the cache folder, or there without every font their
    stylesheets name (:func:`missing_font_files`)."""
    folder = folder or cache_folder()
    return [spec for spec in required_packages()
            if not (folder / spec / "package.json").is_file() or missing_font_files(folder / spec)]


def _unpack(archive: Path, target: Path) -> None:
    """Unpack an npm tarball's ``package/`` folder into ``target`` (refusing paths that leave it)."""
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    with tarfile.open(archive) as tar:
        members = []
        for member in tar.getmembers():
            parts = Path(member.name).parts
            if not parts or parts[0] != "package" or ".." in parts or not (member.isfile() or member.isdir()):
                continue
            member.name = str(Path(*parts[1:])) if len(parts) > 1 else "."
            members.append(member)
        tar.extractall(staging, members=members, filter="data")
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)


def ensure_frontend_assets(folder: Path | None = None, npm: str = "npm") -> list[str]:
    """Fetch the missing front-end packages with ``npm pack`` into the cache folder.

    Returns the packages fetched (empty when all were there). Raises ``RuntimeError`` when
    ``npm`` is absent or fails.
    """
    folder = folder or cache_folder()
    missing = missing_packages(folder)
    if not missing:
        return []
    if shutil.which(npm) is None:
        raise RuntimeError(f"'{npm}' was not found; install Node.js and npm (Debian: apt-get install -y npm)")
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run([npm, "pack", "--silent", "--pack-destination", tmp, *missing],
                              capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            raise RuntimeError(f"npm pack failed: {done.stderr.strip() or done.stdout.strip()}")
        for spec in missing:
            archive = Path(tmp) / (spec.lstrip("@").replace("/", "-").replace("@", "-") + ".tgz")
            if not archive.is_file():
                raise RuntimeError(f"npm pack did not produce {archive.name} for {spec}")
            _unpack(archive, folder / spec)
    return missing


def main() -> int:
    """``python -m ecosim.viz.assets``: make the visualiser's page work offline."""
    try:
        fetched = ensure_frontend_assets()
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        print(f"error: could not fetch the visualiser's front end: {exc}", file=sys.stderr)
        return 1
    folder = cache_folder()
    print(f"fetched {', '.join(fetched)} into {folder}" if fetched else f"front end already in {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
