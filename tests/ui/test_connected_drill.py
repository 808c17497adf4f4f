"""Clicking a chart point on a connected project (issue #18) lists, from the source, the same
people as on the local project of the same rows, on a real chdb folder and real widgets."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("chdb")

from test_connected_project import PRO, _opened, chdb_folder, connected_file, window  # noqa: F401

from seglab.core import segments
from seglab.core.charts import ChartSpec, make_slice, run_chart, slice_members
from seglab.core.project import Project

pytestmark = pytest.mark.gui


def local_ids(path, spec, **where) -> tuple[str, ...]:
    with Project.open(path, readonly=True) as project:
        got = slice_members(project.conn, make_slice(spec, **where))
        table = "users" if got.level == "user" else "accounts"
        key, name = ("user_key", "user_id") if got.level == "user" else ("account_key", "account_id")
        by_key = dict(project.conn.execute(f"SELECT {key}, {name} FROM {table}"))
    return tuple(sorted(by_key[k] for k in got.keys))


def test_clicking_a_point_lists_the_local_people_from_the_source(
    window,  # noqa: F811
    qtbot,
    connected_file,  # noqa: F811
    tmp_path,
):
    local = tmp_path / "b2b.seglab"
    for path in (connected_file, local):
        with Project.open(path) as project:
            segments.save_segment(project.conn, "Pro users", PRO)
    spec = ChartSpec(
        segments=("Pro users",), vs_rest=True, interval="week", last_days=None, date_from="2024-03-01"
    ).with_options(event="create_report", measure="users")
    with Project.open(local, readonly=True) as project:
        frame = run_chart(project.conn, spec)
    row = frame[(frame["segment"] == "Pro users") & (frame["value"] > 0)].iloc[0]
    want = local_ids(local, spec, segment="Pro users", period_start=row["period_start"])
    assert len(want) == row["value"]

    _opened(qtbot, window, connected_file)
    window.show_page("charts")
    page = window.page("charts")
    qtbot.waitUntil(lambda: not page.catalog_worker.is_busy() and not page.worker.is_busy(), timeout=20_000)
    with qtbot.waitSignal(page.result_shown, timeout=20_000):
        page.model.set_spec(spec)
    x = float(np.datetime64(row["period_start"]).astype("datetime64[s]").astype(float))
    with qtbot.waitSignal(page.drill_requested, timeout=20_000) as blocker:
        page.charts["trend"].click_point("Pro users", x)
    level, ids, title = blocker.args
    assert (level, ids) == ("user", want)
    assert title.startswith("Pro users: users who did create_report in 2024-W")
    # The members window lists them with their properties, read in the source.
    assert len(page.members_dialogs) == 1
    dialog = page.members_dialogs[0]
    members = dialog.members
    qtbot.waitUntil(lambda: not members.is_loading() and members.row_count() == len(want), timeout=20_000)
    assert tuple(members.ids()) == want
    assert members.model.table().columns[:2] == ("user_id", "account")
    assert not members.model.table().profiles
    # Double-clicking a person opens their profile, read in the source by id.
    members.view.doubleClicked.emit(members.model.index(0, 0))
    profile = members._profile_dialogs[-1]
    qtbot.waitUntil(lambda: getattr(profile, "profile", None) is not None, timeout=20_000)
    assert profile.profile.user_id == want[0]
    assert profile.windowTitle().startswith(f"User {want[0]}")
    assert profile.timeline_model.rowCount() == profile.profile.total_events > 0
    dialog.close()

    # A funnel bar too, through the same task path (the source's lock).
    funnel = ChartSpec(kind="funnel", last_days=None, date_from="2024-01-01").with_options(
        steps=["login", "create_report"]
    )
    want = local_ids(local, funnel, segment="everyone", step=2, mode="reached")
    assert want
    with qtbot.waitSignal(page.result_shown, timeout=20_000):
        page.model.set_spec(funnel)
    with qtbot.waitSignal(page.drill_requested, timeout=20_000) as blocker:
        page.charts["funnel"].slice_clicked.emit({"segment": "everyone", "step": 2, "mode": "reached"})
    assert blocker.args[1] == want


def test_an_accounts_profile_and_its_users_open_from_the_source(
    window,  # noqa: F811
    qtbot,
    connected_file,  # noqa: F811
    tmp_path,
):
    from seglab.core import profiles
    from seglab.ui.widgets.members_widget import open_members_dialog

    with Project.open(tmp_path / "b2b.seglab", readonly=True) as project:
        key = project.conn.execute("SELECT account_key FROM accounts WHERE account_id = 'acme'").fetchone()[0]
    want, _ = profiles.load_account_profile(tmp_path / "b2b.seglab", key)
    _opened(qtbot, window, connected_file)
    dialog = open_members_dialog(window.session, "account", (), "Acme", window, ids=("acme",))
    qtbot.addWidget(dialog)
    members = dialog.members
    qtbot.waitUntil(lambda: not members.is_loading() and members.row_count() == 1, timeout=20_000)
    members.view.doubleClicked.emit(members.model.index(0, 0))
    account = members._profile_dialogs[-1]
    qtbot.waitUntil(lambda: getattr(account, "profile", None) is not None, timeout=20_000)
    assert account.windowTitle().startswith("Account acme")
    assert account.users_model.rowCount() == len(want.users) > 0
    assert account.profile.health == want.health
    account.users_view.doubleClicked.emit(account.users_model.index(0, 0))
    user = account._user_dialogs[-1]
    qtbot.waitUntil(lambda: getattr(user, "profile", None) is not None, timeout=20_000)
    assert user.profile.user_id == want.users[0].user_id
    assert user.profile.account_id == "acme"
    dialog.close()


def test_ctrl_k_finds_in_the_source_and_opens_the_profile(
    window,  # noqa: F811
    qtbot,
    connected_file,  # noqa: F811
    tmp_path,
):
    from seglab.core import search
    from seglab.ui.widgets.profile_dialogs import AccountProfileDialog

    with Project.open(tmp_path / "b2b.seglab", readonly=True) as project:
        want = [m.to_json() for m in search.find(project.conn, "acme", 20)]
    assert want
    _opened(qtbot, window, connected_file)
    assert window.find_action.isEnabled()
    window.find_action.trigger()
    dialog = window._people_dialog
    with qtbot.waitSignal(dialog.searched, timeout=20_000):
        dialog.search("acme")
    got = [dialog.model.match_at(i).to_json() for i in range(dialog.model.rowCount())]
    assert got == want
    row = next(i for i, m in enumerate(got) if m["kind"] == "account")
    profile = dialog.open_profile(row)
    assert isinstance(profile, AccountProfileDialog)
    qtbot.waitUntil(lambda: getattr(profile, "profile", None) is not None, timeout=20_000)
    assert profile.windowTitle().startswith(f"Account {got[row]['id']}")
    profile.close()
    dialog.close()
