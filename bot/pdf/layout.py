"""What invoices and statements share: embedded fonts, styles, the numbered page footer, the
wording of dates, quantities and rates, and a deterministic build (docs/adr/0005-invoice-pdfs.md).
"""

from __future__ import annotations

import functools
import hashlib
import io
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import reportlab
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph, SimpleDocTemplate

from bot.money import Money
from bot.pdf.documents import Customer, Supplier
from store.enums import LineUnit

# reportlab's own bundled Bitstream Vera, so every machine embeds the same glyphs and the
# output does not depend on which system fonts are installed.
FONT = "PortalSans"
FONT_BOLD = "PortalSans-Bold"
_FONT_FILES = {FONT: "Vera.ttf", FONT_BOLD: "VeraBd.ttf"}
# Vera has U+2022 BULLET, so card numbers are masked with it ("Visa •••• 4242").
MASK = "\u2022" * 4

PAGE_SIZE = A4
MARGIN = 18 * mm
CONTENT_WIDTH = PAGE_SIZE[0] - 2 * MARGIN
INK = colors.HexColor("#1d1c1d")
MUTED = colors.HexColor("#616061")
RULE = colors.HexColor("#dddddd")
HEADER_FILL = colors.HexColor("#f4f4f4")

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
_CARD_BRANDS = {
    "amex": "American Express",
    "cartes_bancaires": "Cartes Bancaires",
    "diners": "Diners Club",
    "discover": "Discover",
    "jcb": "JCB",
    "mastercard": "Mastercard",
    "unionpay": "UnionPay",
    "visa": "Visa",
}


_registration = threading.Lock()
_drawable: list[frozenset[int]] = []  # filled once, under the lock


def register_fonts() -> frozenset[int]:
    """Register the embedded fonts once (on first use, not at import); return the code points
    both faces can draw. Locked: two first renders at once must not each register their own
    font objects, or one would lay out with glyph subsets the other then replaces."""
    with _registration:
        if not _drawable:
            folder = Path(reportlab.__file__).parent / "fonts"
            faces = []
            for name, filename in _FONT_FILES.items():
                font = TTFont(name, str(folder / filename))
                pdfmetrics.registerFont(font)
                faces.append(set(font.face.charToGlyph))
            pdfmetrics.registerFontFamily(
                FONT, normal=FONT, bold=FONT_BOLD, italic=FONT, boldItalic=FONT
            )
            _drawable.append(frozenset(set.intersection(*faces)))
        return _drawable[0]


def covers(text: str) -> bool:
    """Whether the embedded fonts can draw every character of `text`."""
    drawable = register_fonts()
    return all(ord(ch) in drawable or ch.isspace() for ch in text)


def printable(text: str) -> str:
    """`text` with each character the fonts cannot draw replaced by its unaccented base letter
    (ő → o), or by "?" when it has none, so no glyph ever renders as an empty box."""
    drawable = register_fonts()
    out = []
    for ch in text:
        if ord(ch) in drawable or ch in "\n\t ":
            out.append(ch)
            continue
        base = "".join(
            part
            for part in unicodedata.normalize("NFKD", ch)
            if ord(part) in drawable and not unicodedata.combining(part)
        )
        out.append(base or "?")
    return "".join(out)


def money(amount: Money) -> str:
    """`£1,234.56` via `Money.format()`, made drawable (a ₹ or ₽ sign would not be)."""
    return printable(amount.format())


def markup(text: str) -> str:
    """Plain text made safe for a Paragraph: drawable, with &, < and > escaped."""
    return escape(printable(text))


@dataclass(frozen=True, slots=True)
class Styles:
    body: ParagraphStyle
    small: ParagraphStyle
    heading: ParagraphStyle
    title: ParagraphStyle
    supplier: ParagraphStyle
    cell: ParagraphStyle
    cell_right: ParagraphStyle
    notice: ParagraphStyle


@functools.cache
def styles() -> Styles:
    register_fonts()
    body = ParagraphStyle("body", fontName=FONT, fontSize=9, leading=12, textColor=INK)
    return Styles(
        body=body,
        small=ParagraphStyle("small", parent=body, fontSize=8, leading=10),
        heading=ParagraphStyle(
            "heading", parent=body, fontName=FONT_BOLD, fontSize=10, leading=14, spaceAfter=2
        ),
        title=ParagraphStyle(
            "title", parent=body, fontName=FONT_BOLD, fontSize=18, leading=22, alignment=TA_RIGHT
        ),
        supplier=ParagraphStyle(
            "supplier", parent=body, fontName=FONT_BOLD, fontSize=13, leading=17
        ),
        cell=ParagraphStyle("cell", parent=body, fontSize=8.5, leading=10.5),
        cell_right=ParagraphStyle(
            "cell_right", parent=body, fontSize=8.5, leading=10.5, alignment=TA_RIGHT
        ),
        notice=ParagraphStyle(
            "notice",
            parent=body,
            fontName=FONT_BOLD,
            fontSize=10,
            leading=14,
            borderPadding=(5, 6, 5, 6),
            backColor=HEADER_FILL,
            spaceBefore=6,
            spaceAfter=6,
        ),
    )


# ---- wording -------------------------------------------------------------------------------


def day(value: date) -> str:
    """`24 Nov 2026`, the same in every locale."""
    return f"{value.day} {_MONTHS[value.month - 1]} {value.year}"


def month_title(first_day: date) -> str:
    """`November 2026`."""
    return f"{_MONTH_NAMES[first_day.month - 1]} {first_day.year}"


def month_abbreviation(first_day: date) -> str:
    return _MONTHS[first_day.month - 1]


def percent(rate: Decimal) -> str:
    """`Decimal('0.2')` → `20%`, `Decimal('0.175')` → `17.5%`."""
    text = f"{(rate * 100).quantize(Decimal('0.01')):f}"
    return text.rstrip("0").rstrip(".") + "%"


def quantity(amount: Decimal, unit: LineUnit) -> str:
    """`150 credits`, `1 credit`, `2.25 hours`."""
    if unit is LineUnit.CREDITS:
        whole = int(amount)
        return f"{whole:,} credit" if whole == 1 else f"{whole:,} credits"
    return f"{amount.quantize(Decimal('0.01')):,f} hours"


def card_brand_name(brand: str) -> str:
    return _CARD_BRANDS.get(brand.lower(), brand.replace("_", " ").title())


def supplier_paragraphs(supplier: Supplier) -> list[Paragraph]:
    st = styles()
    lines = [*supplier.address_lines, f"VAT number {supplier.vat_number}"]
    lines.append(f"Company number {supplier.company_number}")
    return [
        Paragraph(markup(supplier.name), st.supplier),
        Paragraph("<br/>".join(markup(line) for line in lines), st.body),
    ]


def customer_paragraphs(customer: Customer, heading: str) -> list[Paragraph]:
    st = styles()
    lines = [*customer.address_lines, customer.country_name]
    text = "<br/>".join(
        [f"<b>{markup(customer.company_name)}</b>", *(markup(line) for line in lines)]
    )
    paragraphs = [Paragraph(heading, st.heading), Paragraph(text, st.body)]
    if customer.vat_reference:
        paragraphs.append(
            Paragraph(f"VAT number {markup(customer.vat_reference)}", st.body),
        )
    return paragraphs


# ---- building ------------------------------------------------------------------------------


def _numbered_canvas(footer: str) -> type[Canvas]:
    """A canvas that holds every page back until the end, so each footer can say
    "Page 2 of 3" (the total is known only once the last page is laid out)."""
    register_fonts()

    class NumberedCanvas(Canvas):  # type: ignore[misc]  # reportlab is untyped
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._held_pages: list[dict[str, Any]] = []

        def showPage(self) -> None:  # reportlab's name: held back until save()
            self._held_pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            count = len(self._held_pages)
            for state in self._held_pages:
                self.__dict__.update(state)
                self._draw_footer(count)
                Canvas.showPage(self)
            Canvas.save(self)

        def _draw_footer(self, count: int) -> None:
            self.saveState()
            self.setFont(FONT, 7.5)
            self.setFillColor(MUTED)
            self.setStrokeColor(RULE)
            self.line(MARGIN, MARGIN - 4 * mm, PAGE_SIZE[0] - MARGIN, MARGIN - 4 * mm)
            self.drawString(MARGIN, MARGIN - 8 * mm, printable(footer))
            self.drawRightString(
                PAGE_SIZE[0] - MARGIN, MARGIN - 8 * mm, f"Page {self._pageNumber} of {count}"
            )
            self.restoreState()

    return NumberedCanvas


def build_pdf(story: Sequence[Any], *, title: str, author: str, subject: str, footer: str) -> bytes:
    """Lay out `story` on A4 and return the PDF. `invariant=1` fixes the creation date and
    derives the document id from the content, so the same input always gives the same bytes."""
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=PAGE_SIZE,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=printable(title),
        author=printable(author),
        subject=printable(subject),
        creator="Admin Portal for Slack",
        lang="en-GB",
        initialFontName=FONT,  # else every page declares an unembedded Helvetica
        initialFontSize=9,
        pageCompression=1,
        invariant=1,
    )
    document.build(list(story), canvasmaker=_numbered_canvas(footer))
    return buffer.getvalue()


def pdf_sha256(data: bytes) -> str:
    """The hex SHA-256 of a PDF: the same document always hashes the same."""
    return hashlib.sha256(data).hexdigest()
