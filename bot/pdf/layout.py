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

import reportlab
from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfdoc, pdfmetrics
from reportlab.pdfbase.pdfdoc import PDFDocument
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, SimpleDocTemplate, Spacer

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
# The frame insets its flowables by 6 pt and every table cell pads its text by 6 pt, so all
# text starts 6 pt inside the margin and shaded bands and rules run margin to margin.
INSET = 6
CONTENT_WIDTH = PAGE_SIZE[0] - 2 * MARGIN
TEXT_WIDTH = CONTENT_WIDTH - 2 * INSET  # the frame's width inside its padding
FRAME_HEIGHT = PAGE_SIZE[1] - 2 * MARGIN - 2 * INSET  # and its height
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


_PRINTABLE_ASCII = frozenset(range(0x20, 0x7F))
_SUBSETS_KEPT = 64  # per face; each is a few tens of kilobytes
_registration = threading.Lock()
_drawable: list[frozenset[int]] = []  # filled once, under the lock


def register_fonts() -> frozenset[int]:
    """Register the embedded fonts once (on first use, not at import); return the code points
    both faces can draw. Locked: two first renders at once must not each register their own
    font objects, or one would lay out with glyph subsets the other then replaces."""
    if _drawable:  # filled last, once everything is registered: no lock needed to read it
        return _drawable[0]
    with _registration:
        if not _drawable:
            # Streams go into the file as compressed binary, as PDF allows, not additionally
            # ASCII85-encoded (reportlab's default, for 7-bit channels): a quarter smaller and
            # ~1 ms faster per page. Set once, before the first document, for the process.
            rl_config.useA85 = 0
            folder = Path(reportlab.__file__).parent / "fonts"
            faces = []
            for name, filename in _FONT_FILES.items():
                font = TTFont(name, str(folder / filename))
                _reuse_subsets(font)
                pdfmetrics.registerFont(font)
                faces.append(set(font.face.charToGlyph))
            pdfmetrics.registerFontFamily(
                FONT, normal=FONT, bold=FONT_BOLD, italic=FONT, boldItalic=FONT
            )
            _drawable.append(frozenset(set.intersection(*faces)))
        return _drawable[0]


def _reuse_subsets(font: TTFont) -> None:
    """Make `font` cut each glyph subset once, and compress its streams and format its widths
    once.

    A subset (the glyphs one PDF uses, always with printable ASCII) is a pure function of the
    font file and the glyph list, and nearly every invoice uses the same few; cutting one,
    compressing it and its ToUnicode map into the PDF and writing out its widths are the
    costliest steps of embedding a font (benchmarks/pdf.py). zlib and reportlab make the same
    bytes of the same input every time, so reusing them changes no output byte. reportlab's
    subsetter also moves a shared read cursor through the font file, so two renders in
    different threads must not cut at the same time: the lock serialises them.
    """
    cut = font.face.makeSubset
    lock = threading.Lock()
    made: dict[tuple[int, ...], bytes] = {}

    def make_subset(subset: Sequence[int]) -> bytes:
        key = tuple(subset)
        with lock:
            if key not in made:
                if len(made) >= _SUBSETS_KEPT:
                    made.clear()
                made[key] = cut(list(key))
            return made[key]

    add_objects = font.addObjects

    def add_objects_made_once(doc: PDFDocument) -> None:
        add_objects(doc)  # the subsets' font files, ToUnicode maps and font dictionaries
        for name, obj in doc.idToObject.items():
            if name.startswith(_EMBEDDED_STREAMS) and obj.filters == [pdfdoc.PDFZCompress]:
                obj.filters = [_FLATE_ONCE]
        for subset in doc.idToObject["BasicFonts"].dict.values():
            widths = getattr(subset, "Widths", None)
            if isinstance(widths, pdfdoc.PDFArray):  # a TrueType subset's glyph widths
                subset.Widths = _formatted_once(widths, doc)

    font.face.makeSubset = make_subset
    font.addObjects = add_objects_made_once


_formatted: dict[tuple[object, ...], bytes] = {}


def _formatted_once(array: pdfdoc.PDFArray, doc: PDFDocument) -> bytes:
    """`array` as it is written into the PDF (reportlab writes bytes as they are): a subset's
    widths are a hundred-odd numbers, each formatted on its own, in nearly every document."""
    key = tuple(array.sequence)
    found = _formatted.get(key)
    if found is None:
        found = array.format(doc)
        if len(_formatted) >= 4 * _SUBSETS_KEPT:
            _formatted.clear()
        _formatted[key] = found
    return found


# reportlab's names for the streams it embeds for a font subset: its file and ToUnicode map.
_EMBEDDED_STREAMS = ("fontFile:", "toUnicodeCMap:")


class _FlateOnce(pdfdoc.PDFStreamFilterZCompress):  # type: ignore[misc]  # untyped
    """reportlab's FlateDecode filter, remembering what it made of each content it was given
    (a font subset's file or ToUnicode map: the same few in nearly every document)."""

    def __init__(self) -> None:
        self._made: dict[bytes | str, bytes] = {}

    def encode(self, text: bytes | str) -> bytes:
        found = self._made.get(text)
        if found is None:
            found = super().encode(text)
            if len(self._made) >= 4 * _SUBSETS_KEPT:
                self._made.clear()
            self._made[text] = found  # a race only compresses the same bytes twice
        return found


_FLATE_ONCE = _FlateOnce()


def covers(text: str) -> bool:
    """Whether the embedded fonts can draw every character of `text`."""
    drawable = register_fonts()
    return all(ord(ch) in drawable or ch.isspace() for ch in text)


@functools.cache
def _draws_printable_ascii(drawable: frozenset[int]) -> bool:
    return drawable >= _PRINTABLE_ASCII  # asked once, not for every text


def printable(text: str) -> str:
    """`text` with each character the fonts cannot draw replaced by its unaccented base letter
    (ő → o), or by "?" when it has none, so no glyph ever renders as an empty box."""
    drawable = register_fonts()
    if text.isascii() and text.isprintable() and _draws_printable_ascii(drawable):
        return text  # the common case, checked in C
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


def wrap(text: str, width: float, font: str, size: float) -> str:
    """`text` broken into lines no wider than `width` points (at word breaks, or inside a word
    too long for a line), joined with newlines, as a plain table cell draws them."""
    if "\n" not in text and stringWidth(text, font, size) <= width:
        return text  # fits on one line: one measurement instead of one per word
    lines: list[str] = []
    for paragraph in text.split("\n"):
        words_only = paragraph and paragraph == " ".join(paragraph.split())
        if words_only and stringWidth(paragraph, font, size) <= width:
            lines.append(paragraph)  # fits: what splitting it at its words would give
            continue
        for words in simpleSplit(paragraph, font, size, width):
            rest = words
            while stringWidth(rest, font, size) > width and len(rest) > 1:
                cut = len(rest) - 1
                while cut > 1 and stringWidth(rest[:cut], font, size) > width:
                    cut -= 1
                lines.append(rest[:cut])
                rest = rest[cut:]
            lines.append(rest)
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Line:
    """Text for a `TextStack`: one or more lines (newlines kept) in one font, size and colour."""

    text: str
    font: str = FONT
    size: float = 9
    leading: float = 12
    color: colors.Color = INK
    space_after: float = 0


class TextStack(Flowable):  # type: ignore[misc]  # reportlab is untyped
    """`lines` one under another, each wrapped to `width`, drawn straight onto the canvas.

    It reads like a column of paragraphs at a fraction of their cost: platypus parses every
    Paragraph's markup and lays a table out cell by cell, which made the invoice's header
    cost as much as twenty invoice lines (benchmarks/pdf.py). The first baseline sits one
    font size below the top, as in a table cell.
    """

    def __init__(self, lines: Sequence[Line], width: float, *, align: str = "LEFT") -> None:
        super().__init__()
        register_fonts()
        self.width = width
        self.hAlign = align
        self._runs = [
            (line, wrap(printable(line.text), width, line.font, line.size).split("\n"))
            for line in lines
        ]
        self.height = sum(
            len(texts) * line.leading + line.space_after for line, texts in self._runs
        )

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        # One text object for every line (a third of the cost of a drawString each); each
        # `textLine` moves down by the leading, so a left-aligned run is placed once.
        text = self.canv.beginText()
        top, color = self.height, None
        for line, texts in self._runs:
            text.setFont(line.font, line.size, line.leading)
            if line.color != color:
                text.setFillColor(line.color)
                color = line.color
            text.setTextOrigin(0, top - line.size)
            for words in texts:
                if self.hAlign == "RIGHT":
                    x = self.width - stringWidth(words, line.font, line.size)
                    text.setTextOrigin(x, text.getY())
                text.textLine(words)
            top -= len(texts) * line.leading + line.space_after
        self.canv.drawText(text)


class Pairs(Flowable):  # type: ignore[misc]  # reportlab is untyped
    """Label and value rows ("Issue date  24 Nov 2026"): muted labels on the left, values
    flush right."""

    ROW = 14.0

    def __init__(self, rows: Sequence[tuple[str, str]], width: float) -> None:
        super().__init__()
        register_fonts()
        self.width = width
        self.height = self.ROW * len(rows)
        self.hAlign = "RIGHT"
        self._rows = [(printable(label), printable(value)) for label, value in rows]

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        text = self.canv.beginText()
        text.setFont(FONT, 9, 12)
        for n, (label, value) in enumerate(self._rows):  # read (and extracted) row by row
            baseline = self.height - (n + 1) * self.ROW + 4
            text.setFillColor(MUTED)
            text.setTextOrigin(0, baseline)
            text.textLine(label)
            text.setFillColor(INK)
            text.setTextOrigin(self.width - stringWidth(value, FONT, 9), baseline)
            text.textLine(value)
        self.canv.drawText(text)


class Totals(Flowable):  # type: ignore[misc]  # reportlab is untyped
    """Sums flush right in the frame, a label column and an amount column: 9 pt rows, and
    the row `rule_above` (the total) in 10 pt bold under a rule. Each row is one line of
    1.2 times its font size with 2 pt above and below.

    Drawn straight onto the canvas: as a platypus table it cost a tenth of the invoice.
    """

    LABEL_WIDTH, AMOUNT_WIDTH = 45 * mm, 32 * mm
    PAD = 2.0

    def __init__(self, rows: Sequence[tuple[str, str]], *, rule_above: int) -> None:
        super().__init__()
        register_fonts()
        self._rule_above = rule_above
        self._rows = [
            (printable(label), printable(amount), *self._font(n))
            for n, (label, amount) in enumerate(rows)
        ]
        self.width = self.LABEL_WIDTH + self.AMOUNT_WIDTH
        self.height = sum(1.2 * size + 2 * self.PAD for *_, size in self._rows)
        self.hAlign = "RIGHT"

    def _font(self, row: int) -> tuple[str, float]:
        return (FONT_BOLD, 10.0) if row == self._rule_above else (FONT, 9.0)

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        canvas = self.canv
        text = canvas.beginText()
        text.setFillColor(INK)
        top = self.height
        rule = 0.0
        for n, (label, amount, font, size) in enumerate(self._rows):
            if n == self._rule_above:
                rule = top
            top -= 1.2 * size + 2 * self.PAD
            baseline = top + self.PAD + 0.2 * size  # the line's leading less its font size
            text.setFont(font, size, 1.2 * size)
            text.setTextOrigin(INSET, baseline)
            text.textLine(label)
            text.setTextOrigin(self.width - stringWidth(amount, font, size), baseline)
            text.textLine(amount)
        canvas.drawText(text)
        canvas.saveState()
        canvas.setStrokeColor(INK)
        canvas.setLineWidth(0.8)
        canvas.setLineCap(1)
        canvas.setLineJoin(1)
        canvas.line(0, rule, self.width, rule)
        canvas.restoreState()


class Column(Flowable):  # type: ignore[misc]  # reportlab is untyped
    """Flowables one under another, kept together on one page; a number among them is a gap
    of that many points.

    Lighter than platypus' `KeepTogether`, for a few small blocks (the invoice's heading, its
    totals): one flowable for the frame to place, moved to the next page whole when it does
    not fit. Only a column taller than a whole frame is split, back into its parts.
    """

    def __init__(self, parts: Sequence[Flowable | float]) -> None:
        super().__init__()
        self._parts = list(parts)
        self.width = self.height = 0.0

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        self.width = available_width
        self.height = sum(
            part if isinstance(part, float | int) else part.wrap(available_width, FRAME_HEIGHT)[1]
            for part in self._parts
        )
        return self.width, self.height

    def split(self, available_width: float, available_height: float) -> list[Flowable]:
        self.wrap(available_width, available_height)
        if self.height <= FRAME_HEIGHT:
            return []  # it fits on a fresh page: moved there whole
        return [Spacer(1, part) if isinstance(part, float | int) else part for part in self._parts]

    def draw(self) -> None:
        top = self.height
        for part in self._parts:
            if isinstance(part, float | int):
                top -= part
                continue
            width, height = part.wrap(self.width, FRAME_HEIGHT)
            top -= height
            x = self.width - width if part.hAlign == "RIGHT" else 0
            part.drawOn(self.canv, x, top)


class Beside(Flowable):  # type: ignore[misc]  # reportlab is untyped
    """Two columns of flowables side by side, top-aligned, filling the frame's width: the
    left column flush left, the right column flush right."""

    def __init__(self, left: Sequence[Flowable], right: Sequence[Flowable]) -> None:
        super().__init__()
        self._columns = (list(left), list(right))
        self.width = self.height = 0.0

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        self.width = available_width
        heights = [
            sum(part.wrap(available_width, available_height)[1] for part in column)
            for column in self._columns
        ]
        self.height = max(heights)
        return self.width, self.height

    def draw(self) -> None:
        for column, flush_right in zip(self._columns, (False, True), strict=True):
            top = self.height
            for part in column:
                width, height = part.wrap(self.width, self.height)
                top -= height
                part.drawOn(self.canv, self.width - width if flush_right else 0, top)


class Banner(Flowable):  # type: ignore[misc]  # reportlab is untyped
    """One bold line on a shaded band that runs from margin to margin: the invoice's payment
    status. The text lines up with the frame's other text, 6 pt inside the band."""

    SIZE, LEADING, PAD = 10.0, 14.0, 8.0
    CAP = 0.73 * SIZE  # Vera's capital height: the text is centred on its capitals

    def __init__(self, text: str) -> None:
        super().__init__()
        register_fonts()
        self._text = printable(text)
        self._lines: list[str] = []
        self.width = self.height = 0.0

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        self.width = available_width
        self._lines = wrap(self._text, available_width, FONT_BOLD, self.SIZE).split("\n")
        self.height = 2 * self.PAD + self.CAP + self.LEADING * (len(self._lines) - 1)
        return self.width, self.height

    def draw(self) -> None:
        canvas = self.canv
        canvas.setFillColor(HEADER_FILL)
        canvas.rect(-INSET, 0, self.width + 2 * INSET, self.height, stroke=0, fill=1)
        canvas.setFillColor(INK)
        canvas.setFont(FONT_BOLD, self.SIZE, self.LEADING)
        for n, text in enumerate(self._lines):
            baseline = self.height - self.PAD - self.CAP - n * self.LEADING
            canvas.drawString(0, baseline, text)


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


def supplier_lines(supplier: Supplier) -> list[Line]:
    """The vendor's name, address, VAT number and company number."""
    details = [
        *supplier.address_lines,
        f"VAT number {supplier.vat_number}",
        f"Company number {supplier.company_number}",
    ]
    return [
        Line(supplier.name, font=FONT_BOLD, size=13, leading=17, space_after=1),
        Line("\n".join(details)),
    ]


def customer_lines(customer: Customer, heading: str) -> list[Line]:
    """`heading` ("Bill to"), then the customer's company, address, country and VAT number."""
    lines = [
        Line(heading, font=FONT_BOLD, size=10, leading=14, space_after=2),
        Line(customer.company_name, font=FONT_BOLD),
        Line("\n".join([*customer.address_lines, customer.country_name])),
    ]
    if customer.vat_reference:
        lines.append(Line(f"VAT number {customer.vat_reference}"))
    return lines


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
            self.drawString(MARGIN + INSET, MARGIN - 8 * mm, printable(footer))
            self.drawRightString(
                PAGE_SIZE[0] - MARGIN - INSET,
                MARGIN - 8 * mm,
                f"Page {self._pageNumber} of {count}",
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
