"""How long rendering an invoice PDF takes: median and p95 for a 1-line and a 60-line invoice.

Run with `.venv/bin/python benchmarks/pdf_render.py [rounds]`. No database: the documents are
built directly. The first render of a process (font registration) is timed separately.
"""

from __future__ import annotations

import statistics
import sys
import time
from datetime import date
from decimal import Decimal

from bot.money import Money
from bot.pdf import (
    Customer,
    DocumentLine,
    Due,
    InvoiceDocument,
    Supplier,
    pdf_sha256,
    render_invoice,
)
from store.enums import LineUnit, VatTreatment

SUPPLIER = Supplier(
    name="Example Cloud Software Ltd",
    address_lines=("1 Example Street", "London", "EC1A 1AA", "United Kingdom"),
    vat_number="GB123456789",
    company_number="01234567",
)


def invoice(lines: int) -> InvoiceDocument:
    rate = Decimal("0.2")
    rows = []
    for n in range(lines):
        quantity = Decimal(100 + n)
        unit_price = Money(90, "GBP")
        net = unit_price.times(quantity)
        rows.append(
            DocumentLine(
                description=f"{100 + n:,} credits",
                quantity=quantity,
                unit=LineUnit.CREDITS,
                unit_price=unit_price,
                net=net,
                vat_rate=rate,
                vat=net.times(rate),
            )
        )
    net_total = Money(sum(row.net.amount_minor for row in rows), "GBP")
    vat_total = Money(sum(row.vat.amount_minor for row in rows), "GBP")
    return InvoiceDocument(
        number="INV-000123",
        issue_date=date(2026, 11, 24),
        tax_point=date(2026, 11, 24),
        due_date=date(2026, 12, 8),
        currency="GBP",
        vat_treatment=VatTreatment.UK_STANDARD,
        customer=Customer(
            company_name="Müller & Søn ApS",
            address_lines=("Zoë Ćirić", "Østergade 1", "1100 København"),
            country_name="Denmark",
        ),
        lines=tuple(rows),
        net=net_total,
        vat=vat_total,
        gross=net_total + vat_total,
        payment=Due(by=date(2026, 12, 8)),
    )


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    started = time.perf_counter()
    render_invoice(invoice(1), SUPPLIER)
    first = 1000 * (time.perf_counter() - started)
    print(f"first render in the process (registers fonts): {first:.1f} ms")
    for lines in (1, 60):
        doc = invoice(lines)
        timings = []
        for _ in range(rounds):
            started = time.perf_counter()
            data = render_invoice(doc, SUPPLIER)
            timings.append(time.perf_counter() - started)
        print(
            f"{lines:>2}-line invoice: median {1000 * statistics.median(timings):6.1f} ms, "
            f"p95 {1000 * percentile(timings, 0.95):6.1f} ms "
            f"({rounds} renders, {len(data):,} bytes, sha256 {pdf_sha256(data)[:12]})"
        )


if __name__ == "__main__":
    main()
