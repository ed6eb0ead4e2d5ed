"""How long an invoice PDF takes to render, against a bare reportlab table of the same rows.

Run with `.venv/bin/python benchmarks/pdf.py [rounds]`. No database: the documents are built
directly. For a 20-line and a 200-line invoice it prints the median (and p95) milliseconds of
`render_invoice`, of a bare platypus `Table` holding the same rows (the same cell texts, a
repeated header row, nothing else: no fonts of our own, no style, no footer), and of that bare
table set in the invoice's embedded font, and the ratio of the invoice to each. Times are this
process's CPU time, so that other work on a shared machine does not count, with the wall clock
beside them (the same on an idle machine).

Target (docs/adr/0005-invoice-pdfs.md): the 20-line invoice under 20 ms median and within 1.5x
of the bare table. The bare table in the invoice's font embeds that font the same way the
invoice does (the same registered font, so the same cached glyph subset and compressed font
streams), so the ratio to it is the invoice's own cost: its header, styles, totals, footer and
second (bold) face. The first render of a process registers the fonts and is timed on its own.
"""

from __future__ import annotations

import gc
import importlib
import io
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import partial

import reportlab
from reportlab.lib.pagesizes import A4
from reportlab.platypus import SimpleDocTemplate, Table, TableStyle

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
from bot.pdf.invoice import LINE_HEADER, line_cells
from bot.pdf.layout import FONT, register_fonts
from store.enums import LineUnit, VatTreatment

SUPPLIER = Supplier(
    name="Example Cloud Software Ltd",
    address_lines=("1 Example Street", "London", "EC1A 1AA", "United Kingdom"),
    vat_number="GB123456789",
    company_number="01234567",
)
SIZES = (20, 200)
TARGET_MS = 20.0
TARGET_RATIO = 1.5


def invoice(lines: int) -> InvoiceDocument:
    """A UK invoice of `lines` credits and service lines, each a different amount."""
    rate = Decimal("0.2")
    rows = []
    for n in range(lines):
        if n % 2:
            quantity, unit = Decimal(100 + n), LineUnit.CREDITS
            unit_price, description = Money(90, "GBP"), f"{100 + n:,} credits"
        else:
            quantity, unit = Decimal(n + 1) / 4, LineUnit.HOURS
            unit_price, description = Money(9500, "GBP"), f"Consultancy, week {n + 1}"
        net = unit_price.times(quantity)
        rows.append(
            DocumentLine(
                description=description,
                quantity=quantity,
                unit=unit,
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


def bare_table(doc: InvoiceDocument, *, font: str | None = None) -> bytes:
    """The invoice's rows as a plain platypus table: the same texts, a header row repeated on
    every page, and nothing else (`font` only sets the cells' font)."""
    rows = [list(LINE_HEADER), *(line_cells(doc, line) for line in doc.lines)]
    style = TableStyle([("FONT", (0, 0), (-1, -1), font, 8.5)] if font else [])
    buffer = io.BytesIO()
    template = SimpleDocTemplate(
        buffer, pagesize=A4, invariant=1, **({"initialFontName": font} if font else {})
    )
    template.build([Table(rows, repeatRows=1, style=style)])
    return buffer.getvalue()


def accelerator() -> str:
    """Whether reportlab's optional C accelerator is installed (`pip install rl-accel`): it
    formats the PDF's numbers and measures text in C, with the same output bytes."""
    try:
        importlib.import_module("_rl_accel")
    except ImportError:
        return "not installed"
    return "installed"


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


@dataclass
class Samples:
    """Milliseconds per render: on the wall clock, and of this process's CPU time."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)


def timed(renders: dict[str, Callable[[], bytes]], rounds: int) -> dict[str, Samples]:
    """`rounds` renders of each, taken in turn (one of each per round) so that a busy machine
    slows every contender alike; each is warmed up once first."""
    for render in renders.values():
        render()
    samples = {name: Samples() for name in renders}
    gc.collect()
    for _ in range(rounds):
        for name, render in renders.items():
            wall, cpu = time.perf_counter(), time.process_time()
            render()
            samples[name].cpu.append(1000 * (time.process_time() - cpu))
            samples[name].wall.append(1000 * (time.perf_counter() - wall))
    return samples


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 60
    started = time.perf_counter()
    register_fonts()
    render_invoice(invoice(1), SUPPLIER)
    first = 1000 * (time.perf_counter() - started)
    print(f"first render in the process (registers the fonts): {first:.1f} ms")
    print(f"reportlab {reportlab.Version}, C accelerator (rl_accel): {accelerator()}")
    print(f"{rounds} renders each, taken in turn; milliseconds of CPU time (wall clock)\n")
    verdicts = []
    for size in SIZES:
        doc = invoice(size)
        data = render_invoice(doc, SUPPLIER)
        samples = timed(
            {
                "invoice": partial(render_invoice, doc, SUPPLIER),
                "bare table": partial(bare_table, doc),
                "bare table, our font": partial(bare_table, doc, font=FONT),
            },
            rounds,
        )
        median = {name: statistics.median(times.cpu) for name, times in samples.items()}
        for name, times in samples.items():
            print(
                f"{size:>3}-line {name:<21} median {median[name]:6.1f} "
                f"({statistics.median(times.wall):6.1f}), "
                f"p95 {percentile(times.cpu, 0.95):6.1f} ({percentile(times.wall, 0.95):6.1f})"
            )
        ours, bare, bare_font = (
            median["invoice"],
            median["bare table"],
            median["bare table, our font"],
        )
        print(
            f"    invoice / bare table {ours / bare:.2f}x, "
            f"invoice / bare table in our font {ours / bare_font:.2f}x "
            f"(invoice {len(data):,} bytes, sha256 {pdf_sha256(data)[:12]})\n"
        )
        if size == SIZES[0]:
            verdicts.append(
                f"20-line invoice: {ours:.1f} ms median "
                f"({'meets' if ours < TARGET_MS else 'misses'} the {TARGET_MS:.0f} ms target), "
                f"{ours / bare_font:.2f}x the bare table in the same embedded font and "
                f"{ours / bare:.2f}x the bare table in Helvetica (target {TARGET_RATIO}x: "
                f"{'met' if ours / bare_font <= TARGET_RATIO else 'missed'} and "
                f"{'met' if ours / bare <= TARGET_RATIO else 'missed'})"
            )
    print("\n".join(verdicts))
    print("SUMMARY " + "; ".join(verdicts))  # the line benchmarks/run_all.py tabulates


if __name__ == "__main__":
    main()
