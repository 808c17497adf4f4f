"""What one import did: the counters a run keeps and the report it returns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ImportReport:
    """What one import did. :meth:`to_json` is the contract's ``--json`` object."""

    file: str
    kind: str
    rows_read: int
    rows_imported: int
    rows_rejected: int
    rejects_file: str | None
    seconds: float
    committed: bool = True
    encoding: str = ""
    delimiter: str = ","
    mapping: Mapping[str, str] = field(default_factory=dict)
    properties: tuple[tuple[str, str], ...] = ()  # (name, type) of the file's property columns
    duplicates_skipped: int = 0
    new_users: int = 0
    new_accounts: int = 0
    account_conflicts: int = 0  # users of this file linked to more than one account
    account_conflicts_from_file: int = 0  # ... of whom the users file's account was kept
    reject_reasons: Mapping[str, int] = field(default_factory=dict)
    import_id: int | None = None
    format: str = "CSV"  # "CSV", "CSV (gzip)", "JSON lines", "Parquet"...
    shape: str | None = None  # "Mixpanel export", "Amplitude export"

    def to_json(self) -> dict:
        return {
            "file": self.file,
            "kind": self.kind,
            "rows_read": self.rows_read,
            "rows_imported": self.rows_imported,
            "rows_rejected": self.rows_rejected,
            "rejects_file": self.rejects_file,
            "seconds": round(self.seconds, 3),
            "account_conflicts": self.account_conflicts,
        }

    def conflict_sentence(self) -> str:
        """What an import says about its account-link conflicts, naming the account kept."""
        n = self.account_conflicts
        kept_file, kept_event = self.account_conflicts_from_file, n - self.account_conflicts_from_file
        parts = []
        if kept_file:
            parts.append(f"the users file's account kept for {kept_file:,}")
        if kept_event:
            parts.append(f"the account on their latest event kept for {kept_event:,}")
        who = "user is" if n == 1 else "users are"
        return f"{n:,} {who} linked to more than one account ({'; '.join(parts)})"


@dataclass
class RunState:
    """The counters of one import's pass over the rows (the report is made from them)."""

    rows_read: int = 0
    rows_imported: int = 0
    duplicates: int = 0
    new_users: int = 0
    new_accounts: int = 0
    conflicts: set = field(default_factory=set)
    conflicts_from_file: int = 0  # of the conflicts, users whose users-file account was kept
    notes: list = field(default_factory=list)
    # Run once the transaction is over (committed or rolled back), e.g. deleting a staging file.
    after_transaction: list = field(default_factory=list)
