"""The bundled demo project (a B2B SaaS data set): ``seglab demo`` and ``seglab --demo``.

The data are gzip CSVs in ``resources/demo/`` (written by ``make_demo.py``), imported
through the ordinary importer, plus the example segments of ``segments.json``.
Building takes a few seconds, so the finished project is cached in the user's cache
folder, keyed by a hash of the data, the segments and the project format; later calls
copy the cached file, which is instant.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from seglab.core.errors import ProjectError, UserError
from seglab.core.progress import NULL_PROGRESS, Progress

DATA_FILES = ("accounts.csv.gz", "users.csv.gz", "events.csv.gz")
SEGMENTS_FILE = "segments.json"
CHARTS_FILE = "charts.json"
CACHE_ENV = "SEGLAB_CACHE_DIR"


class _Scaled:
    """Maps one step's progress into a share of the whole (the demo has four steps)."""

    def __init__(self, progress: Progress, start: float, share: float):
        self.progress, self.start, self.share = progress, start, share

    def report(self, done, total=None, text=""):
        fraction = (done / total) if total else 0.0
        self.progress.report(self.start + self.share * fraction, 1.0, text)

    def is_cancelled(self):
        return self.progress.is_cancelled()


def demo_files() -> list[Path]:
    from seglab.core.resources import resource_path

    try:
        return [resource_path(f"demo/{name}") for name in DATA_FILES]
    except FileNotFoundError as exc:
        raise UserError(f"the demo data are missing from this installation ({exc})") from None


def _optional_resource(name: str) -> Path | None:
    from seglab.core.resources import resource_path

    try:
        return resource_path(f"demo/{name}")
    except FileNotFoundError:
        return None


def _segments_path() -> Path | None:
    return _optional_resource(SEGMENTS_FILE)


def demo_key() -> str:
    """Hash of everything the demo project is built from (data, segments, format, code)."""
    from seglab._version import __version__
    from seglab.core.storage.schema import SCHEMA_VERSION, schema_fingerprint

    digest = hashlib.sha256(f"{__version__}|{SCHEMA_VERSION}".encode())
    # The schema itself too: an unreleased format can change without a version bump, and a
    # cached demo built before that (e.g. without user_active_days) must not be copied.
    digest.update(schema_fingerprint().encode())
    paths = demo_files()
    paths += [p for p in (_segments_path(), _optional_resource(CHARTS_FILE)) if p is not None]
    for path in paths:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def cache_dir() -> Path:
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("seglab", appauthor=False))


def build_demo(path, progress: Progress = NULL_PROGRESS, *, use_cache: bool = True) -> Path:
    """Write the demo project to ``path`` (which must not exist) and return ``path``."""
    path = Path(path)
    if path.exists():
        raise ProjectError(f"{path}: already exists; choose another name")
    if not path.parent.is_dir():
        raise ProjectError(f"{path.parent}: no such folder")
    key = demo_key()
    cached = cache_dir() / f"demo-{key}.seglab"
    if use_cache and cached.is_file():
        progress.report(0.5, 1.0, "copying the demo project")
        _copy(cached, path)
        progress.report(1.0, 1.0, "done")
        return path
    with tempfile.TemporaryDirectory(prefix="seglab-demo-") as tmp:
        built = Path(tmp) / "demo.seglab"
        _build(built, Path(tmp), progress)
        _copy(built, path)
        if use_cache:
            try:
                cached.parent.mkdir(parents=True, exist_ok=True)
                partial = cached.with_name(f"{cached.name}.{os.getpid()}.tmp")
                shutil.copyfile(built, partial)
                os.replace(partial, cached)  # atomic: concurrent builders never see half a file
            except OSError:
                pass  # no cache folder: the next demo just builds again
    return path


def _copy(source: Path, target: Path) -> None:
    partial = target.with_name(target.name + ".tmp")
    try:
        shutil.copyfile(source, partial)
        os.replace(partial, target)
    except OSError as exc:
        Path(partial).unlink(missing_ok=True)
        raise ProjectError(f"{target}: cannot write the demo project ({exc.strerror or exc})") from None


def _build(target: Path, workdir: Path, progress: Progress) -> None:
    from seglab.core.importing import import_file
    from seglab.core.project import Project

    with Project.create(target) as project:
        project.set_meta("demo", "1")
        shares = (0.02, 0.06, 0.8)
        start = 0.0
        for name, share in zip(DATA_FILES, shares):
            source = next(p for p in demo_files() if p.name == name)
            plain = workdir / name[: -len(".gz")]
            with gzip.open(source, "rb") as src, open(plain, "wb") as dst:
                shutil.copyfileobj(src, dst, 1024 * 1024)
            kind = name.split(".")[0]
            import_file(
                project, plain, kind=kind, progress=_Scaled(progress, start, share), rejects_dir=workdir
            )
            start += share
        segments = _segments_path()
        if segments is not None:
            progress.report(start, 1.0, "saving the example segments")
            _save_segments(project, segments)
        charts = _optional_resource(CHARTS_FILE)
        if charts is not None:
            _save_charts(project, charts)
    progress.report(1.0, 1.0, "done")


def _save_charts(project, path: Path) -> None:
    """The demo's example charts (saved chart specs that name the example segments)."""
    from seglab.core.charts import save_chart, spec_from_json

    try:
        specs = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise UserError(f"{path.name}: the demo's example charts are not valid JSON ({exc})") from None
    for name, spec in specs.items():
        save_chart(project.conn, name, spec_from_json(spec))


def _save_segments(project, path: Path) -> None:
    try:
        from seglab.core.segments import save_segment
    except ImportError:
        raise UserError("the demo has example segments but this SegLab cannot save segments") from None
    try:
        definitions = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise UserError(f"{path.name}: the demo's example segments are not valid JSON ({exc})") from None
    for name, definition in definitions.items():
        save_segment(project.conn, name, definition)
