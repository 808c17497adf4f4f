"""Generate the bundled demo data set (a B2B SaaS product): deterministic, stdlib only.

    python resources/demo/make_demo.py        # rewrites accounts/users/events .csv.gz here

The story the data tells, so segments and charts have something to find:

* ~300 accounts (vertical, tier, seats, MRR); bigger tiers have more users.
* ~3,000 users (plan, country, signup date, email); a few sign up with free-mail
  addresses, and some have no account at all.
* ~250k events over the six months up to 2024-06-30: signup → create_report within
  days (activation) → purchase/upgrade (conversion), more likely on higher tiers;
  a weekly rhythm (quiet weekends, working hours); users churn and stop for good,
  free-tier users sooner; enterprise accounts share, export and invite more.

Every number comes from ``random.Random(SEED)``, and gzip headers carry no time,
so the same script always writes byte-identical files.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import math
import random
from pathlib import Path

SEED = 20240630
HERE = Path(__file__).resolve().parent
END = dt.datetime(2024, 6, 30, 23, 59, 59, tzinfo=dt.UTC)
DAYS = 182  # 2024-01-01 .. 2024-06-30
START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
N_ACCOUNTS = 300
N_USERS = 3000

VERTICALS = ("software", "retail", "finance", "healthcare", "education", "media", "manufacturing")
TIERS = (("free", 0.40, 1, 5), ("starter", 0.30, 3, 15), ("pro", 0.20, 10, 60), ("enterprise", 0.10, 40, 400))
PRICE = {"free": 0, "starter": 12, "pro": 29, "enterprise": 49}
COUNTRIES = (
    ("US", 30),
    ("GB", 10),
    ("DE", 10),
    ("FR", 7),
    ("IN", 8),
    ("BR", 6),
    ("CA", 5),
    ("AU", 4),
    ("NL", 4),
    ("JP", 4),
    ("ES", 4),
    ("SE", 3),
    ("PL", 3),
    ("MX", 2),
)
FREE_MAIL = ("gmail.com", "outlook.com", "yahoo.com", "proton.me")
# Everyday events: (name, weight) per tier family; enterprise shares/exports/invites more.
DAILY = {
    "base": (
        ("view_dashboard", 30),
        ("run_query", 16),
        ("open_report", 0),
        ("edit_report", 9),
        ("create_report", 5),
        ("share_report", 3),
        ("export_csv", 3),
        ("comment", 5),
        ("add_data_source", 1),
        ("invite_user", 1),
        ("open_help", 3),
    ),
    "enterprise": (
        ("view_dashboard", 26),
        ("run_query", 16),
        ("edit_report", 10),
        ("create_report", 6),
        ("share_report", 8),
        ("export_csv", 7),
        ("comment", 7),
        ("add_data_source", 2),
        ("invite_user", 3),
        ("open_help", 1),
    ),
}
WEEKDAY = (1.0, 1.08, 1.1, 1.04, 0.88, 0.28, 0.22)


def _iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def _pick(rng: random.Random, table):
    names = [n for n, _ in table]
    weights = [w for _, w in table]
    return rng.choices(names, weights)[0]


def generate(rng: random.Random):
    accounts = []
    for a in range(N_ACCOUNTS):
        r, acc = rng.random(), 0.0
        for tier, share, lo, hi in TIERS:  # noqa: B007 (used after the break)
            acc += share
            if r <= acc:
                break
        seats = rng.randint(lo, hi)
        mrr = round(seats * PRICE[tier] * rng.uniform(0.8, 1.0), 2)
        domain = (
            f"{rng.choice(('acme', 'globex', 'initech', 'umbrella', 'stark', 'wayne', 'hooli', 'vandelay'))}"
            f"{a}.example"
        )
        accounts.append(
            {
                "account_id": f"acc_{a:04d}",
                "company": f"Company {a:03d}",
                "vertical": rng.choice(VERTICALS),
                "tier": tier,
                "seats": seats,
                "mrr": f"{mrr:.2f}",
                "domain": domain,
            }
        )
    # Users land in accounts roughly by seat count; ~6% have no account.
    weights = [acc["seats"] ** 0.7 for acc in accounts]
    users = []
    for u in range(N_USERS):
        acc = None if rng.random() < 0.06 else rng.choices(accounts, weights)[0]
        signup = START - dt.timedelta(days=90) + dt.timedelta(seconds=rng.randint(0, (DAYS + 83) * 86400))
        tier = acc["tier"] if acc else "free"
        plan = {
            "free": "free",
            "starter": rng.choice(("free", "starter")),
            "pro": rng.choice(("starter", "pro", "pro")),
            "enterprise": rng.choice(("pro", "enterprise")),
        }[tier]
        if signup > START and rng.random() < 0.45:
            plan = "trial"
        mail = rng.choice(FREE_MAIL) if acc is None or rng.random() < 0.05 else acc["domain"]
        users.append(
            {
                "user_id": f"u{u:05d}",
                "account_id": acc["account_id"] if acc else "",
                "plan": plan,
                "country": _pick(rng, COUNTRIES),
                "signup_date": signup.date().isoformat(),
                "email": f"user{u}@{mail}",
                "_signup": signup,
                "_tier": tier,
            }
        )
    events = []
    for user in users:
        tier = user["_tier"]
        tier_rank = ("free", "starter", "pro", "enterprise").index(tier)
        signup = user["_signup"]
        # Sessions per weekday: a few heavy users, a long tail of light ones.
        activity = min(6.0, rng.paretovariate(1.6)) * (0.5 + 0.35 * tier_rank) * 0.16
        # Churn: a geometric lifetime, longer on higher tiers.
        life_days = rng.expovariate(1 / (40 + 45 * tier_rank))
        churn = signup + dt.timedelta(days=life_days + 3)
        activated = rng.random() < (0.35 + 0.15 * tier_rank)
        activation_at = signup + dt.timedelta(hours=rng.uniform(0.2, 24 * 6))
        converts = activated and rng.random() < (0.15 + 0.15 * tier_rank)
        purchase_at = activation_at + dt.timedelta(days=rng.uniform(1, 20))
        mix = DAILY["enterprise" if tier == "enterprise" else "base"]
        platform = rng.choices(("web", "ios", "android"), (0.75, 0.15, 0.10))[0]
        if START <= signup <= END:
            events.append((signup, user["user_id"], "signup", platform, ""))
        if activated and START <= activation_at <= END and activation_at < churn:
            events.append((activation_at, user["user_id"], "create_report", platform, ""))
        if converts and START <= purchase_at <= END and purchase_at < churn:
            amount = PRICE[tier if tier != "free" else "starter"] * rng.choice((1, 1, 1, 12))
            events.append((purchase_at, user["user_id"], "purchase", platform, f"{amount:.2f}"))
            if rng.random() < 0.25:
                up = purchase_at + dt.timedelta(days=rng.uniform(5, 60))
                if up <= END and up < churn:
                    events.append((up, user["user_id"], "upgrade", platform, f"{amount * 2:.2f}"))
        if churn < END and rng.random() < 0.3 and churn > START:
            events.append((churn, user["user_id"], "cancel_subscription", platform, ""))
        day = max(START, signup).replace(hour=0, minute=0, second=0, microsecond=0)
        last = min(END, churn)
        engaged = 1.0 if activated else 0.35
        while day <= last:
            rate = activity * engaged * WEEKDAY[day.weekday()]
            sessions = _poisson(rng, rate)
            for _ in range(sessions):
                t = day + dt.timedelta(hours=min(23.9, max(0.0, rng.gauss(13.5, 3.5))))
                if t < signup or t > last:
                    continue
                events.append((t, user["user_id"], "login", platform, ""))
                for _ in range(1 + int(rng.expovariate(0.45))):
                    t += dt.timedelta(
                        seconds=rng.expovariate(1 / 90), microseconds=rng.randint(0, 999) * 1000
                    )
                    if t > last:
                        break
                    events.append((t, user["user_id"], _pick(rng, mix), platform, ""))
            day += dt.timedelta(days=1)
    events.sort(key=lambda e: (e[0], e[1]))
    return accounts, users, events


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _write_gz(path: Path, header, rows) -> None:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    with (
        open(path, "wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz,
    ):
        gz.write(buf.getvalue().encode("utf-8"))


def main(out: Path = HERE) -> None:
    accounts, users, events = generate(random.Random(SEED))
    _write_gz(
        out / "accounts.csv.gz",
        ("account_id", "company", "vertical", "tier", "seats", "mrr"),
        ([a[k] for k in ("account_id", "company", "vertical", "tier", "seats", "mrr")] for a in accounts),
    )
    _write_gz(
        out / "users.csv.gz",
        ("user_id", "account_id", "plan", "country", "signup_date", "email"),
        ([u[k] for k in ("user_id", "account_id", "plan", "country", "signup_date", "email")] for u in users),
    )
    _write_gz(
        out / "events.csv.gz",
        ("user_id", "event", "timestamp", "platform", "amount"),
        ((uid, name, _iso(t), plat, amount) for t, uid, name, plat, amount in events),
    )
    print(f"{len(accounts)} accounts, {len(users)} users, {len(events)} events")


if __name__ == "__main__":
    main()
