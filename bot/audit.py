"""The audit log: every change says who made it, what it was, when and from where."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from store.models import AuditEntry


def record(
    *,
    session: Session,
    account_id: int | None,
    actor: str,
    action: str,
    now: datetime,
    source: str = "slack",
    ip_address: str | None = None,
    **detail: Any,
) -> AuditEntry:
    """Add an audit entry. `detail` must never hold a password, card number or token."""
    entry = AuditEntry(
        account_id=account_id,
        actor=actor,
        action=action,
        detail=detail,
        source=source,
        ip_address=ip_address,
        created_at=now,
    )
    session.add(entry)
    return entry
