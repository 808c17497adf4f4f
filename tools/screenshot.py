"""Open SegLab on a project and save PNGs of its main pages; measure start-up time.

Run under a virtual display, e.g.::

    xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python tools/screenshot.py --out docs/screenshots
    xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python tools/screenshot.py my.seglab --out /tmp/shots

Without a project it uses the demo project when ``seglab.core.demo`` exists, else a
small generated sample imported through the real importer. ``--startup`` also
measures the wall time from launching ``seglab`` to a painted window.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STARTUP_PROBE = r"""
import time
t0 = time.perf_counter()
from PySide6.QtWidgets import QApplication

def _exec(self):
    QApplication.processEvents()
    for w in QApplication.topLevelWidgets():
        if w.isVisible():
            w.repaint()
    print(f"{time.perf_counter() - t0:.3f}")
    import sys
    print("pandas" in sys.modules, "pyqtgraph" in sys.modules)
    for w in QApplication.topLevelWidgets():
        w.close()
    return 0

QApplication.exec = _exec
from seglab.cli import main
raise SystemExit(main([]))
"""


def measure_startup(runs: int = 3) -> list[tuple[float, float, str]]:
    results = []
    for _ in range(runs):
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as home:  # never touch the user's settings
            env = dict(os.environ, XDG_CONFIG_HOME=home, HOME=home)
            out = subprocess.run(
                [sys.executable, "-c", STARTUP_PROBE], capture_output=True, text=True, check=True, env=env
            ).stdout.split("\n")
        total = time.perf_counter() - started
        results.append((total, float(out[0]), out[1]))
    return results


def sample_csvs(folder: Path, n_events: int = 60_000) -> list[Path]:
    """Small deterministic accounts / users / events files."""
    rng = random.Random(7)
    tiers = ["starter", "growth", "enterprise"]
    accounts = folder / "accounts.csv"
    with open(accounts, "w", encoding="utf-8") as fh:
        fh.write("account_id,name,vertical,tier,seats,mrr\n")
        for i in range(60):
            fh.write(
                f"a{i},Company {i},{rng.choice(['fintech', 'health', 'retail', 'media'])},"
                f"{rng.choice(tiers)},{rng.randint(3, 400)},{rng.random() * 5000:.2f}\n"
            )
    users = folder / "users.csv"
    with open(users, "w", encoding="utf-8") as fh:
        fh.write("user_id,account_id,plan,country,signup_date\n")
        for i in range(900):
            fh.write(
                f"u{i},a{i % 60},{rng.choice(['trial', 'pro', 'team'])},"
                f"{rng.choice(['DE', 'US', 'FR', 'GB', 'JP'])},"
                f"2024-0{rng.randint(1, 6)}-{rng.randint(10, 28)}\n"
            )
    events = folder / "events.csv"
    names = ["login", "view_dashboard", "create_report", "invite_user", "trial_started", "purchase"]
    weights = [40, 30, 12, 6, 3, 2]
    with open(events, "w", encoding="utf-8") as fh:
        fh.write("user_id,event,timestamp,account_id,platform\n")
        start = 1_704_067_200  # 2024-01-01
        for i in range(n_events):
            user = rng.randint(0, 899)
            ts = start + int(i * 259 * 60_000 / n_events) + rng.randint(0, 200)
            fh.write(
                f"u{user},{rng.choices(names, weights)[0]},{ts},a{user % 60},{rng.choice(['web', 'ios'])}\n"
            )
    return [accounts, users, events]


def make_project(folder: Path) -> Path:
    import importlib.util

    path = folder / "Acme Analytics.seglab"
    if importlib.util.find_spec("seglab.core.demo") is not None:
        from seglab.core.demo import build_demo

        build_demo(path)
        return path
    from seglab.core.importing import import_file
    from seglab.core.project import Project

    with Project.create(path) as project:
        for csv_path in sample_csvs(folder):
            import_file(project, csv_path)
    return path


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-").replace("--", "-")


def shoot_saved_items(window, out: Path, pump) -> None:
    """The builder on each saved segment and every saved chart, as a reader of the guide sees them."""
    from seglab.core.charts import list_charts
    from seglab.core.segments import list_saved

    conn = window.session.project.conn
    window.show_page("segments")
    page = window.page("segments")
    for saved in list_saved(conn):
        if page.open_segment(saved.name):
            pump(1.5)  # live counts run in a worker
            path = out / f"demo-segment-{_slug(saved.name)}.png"
            window.grab().save(str(path))
            print("saved", path)
    window.show_page("charts")
    page = window.page("charts")
    for chart in list_charts(conn):
        page.open_saved(chart.name)
        pump(3.0)  # the analysis runs in a worker
        path = out / f"demo-chart-{_slug(chart.name)}.png"
        window.grab().save(str(path))
        print("saved", path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("project", nargs="?", help="a .seglab project (default: demo or a generated sample)")
    parser.add_argument("--out", default="docs/screenshots", help="folder for the PNGs")
    parser.add_argument("--startup", action="store_true", help="also measure start-up wall time")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    if args.startup:
        for total, inside, heavy in measure_startup():
            print(
                f"start-up: {total:.2f} s from launch to painted window "
                f"({inside:.2f} s after Python started); "
                f"pandas/pyqtgraph loaded: {heavy}"
            )

    work = Path(tempfile.mkdtemp(prefix="seglab-shots-"))
    os.environ.setdefault("SEGLAB_DATA_DIR", str(work / "data"))
    from PySide6.QtCore import QCoreApplication, QEvent, QSettings

    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(work / "settings"))
    from seglab.ui import messages
    from seglab.ui.app import create_app
    from seglab.ui.main_window import MainWindow
    from seglab.ui.settings import AppSettings

    app = create_app()
    QCoreApplication.setApplicationName("SegLabScreenshots")
    messages.set_responder(lambda m: print(f"[{m.level}] {m.title}: {m.text}") or False)

    def pump(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            app.sendPostedEvents(None, QEvent.Type.DeferredDelete)
            time.sleep(0.01)

    project = Path(args.project) if args.project else make_project(work)
    settings = AppSettings()
    settings.add_recent_project(project, "2026-11-28T16:20:00Z")
    settings.add_recent_project(work / "Q3 churn study.seglab", "2026-11-20T09:05:00Z")  # missing: greyed

    window = MainWindow(settings)
    window.resize(1320, 840)
    window.show()
    pump(0.3)
    window.grab().save(str(out / "start.png"))
    print("saved", out / "start.png")

    if not window.open_project(project):
        return 1
    deadline = time.monotonic() + 30
    while window.overview_model.snapshot is None and time.monotonic() < deadline:
        pump(0.05)
    pump(0.3)
    window.grab().save(str(out / "data-overview.png"))
    print("saved", out / "data-overview.png")
    for name in ("segments", "charts"):
        window.show_page(name)
        pump(1.5)
        window.grab().save(str(out / f"{name}.png"))
        print("saved", out / f"{name}.png")
    shoot_saved_items(window, out, pump)
    window.show_page("data")

    # The import wizard on a fresh set of files.
    files = sample_csvs(Path(tempfile.mkdtemp(prefix="seglab-csv-", dir=work)), n_events=400_000)
    with open(files[2], "a", encoding="utf-8") as fh:
        fh.write("u1,login,yesterday,a1,web\n")
    empty = work / "Fresh import.seglab"
    window.create_project(empty)
    pump(0.3)
    dialog = window.import_files([str(p) for p in reversed(files)])
    pump(0.3)
    dialog.file_list.setCurrentRow(2)
    pump(0.3)
    dialog.grab().save(str(out / "import-wizard.png"))
    print("saved", out / "import-wizard.png")
    dialog.start_import()
    pump(1.5)
    dialog.grab().save(str(out / "import-progress.png"))
    print("saved", out / "import-progress.png")
    while dialog.is_importing():
        pump(0.05)
    pump(0.3)
    dialog.grab().save(str(out / "import-summary.png"))
    print("saved", out / "import-summary.png")
    dialog.accept()
    pump(1.0)
    window.grab().save(str(out / "data-after-import.png"))
    print("saved", out / "data-after-import.png")
    window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
