"""Invoice and monthly statement PDFs: plain frozen documents in, bytes out.

`sources` builds the documents from the store; `render_invoice` and `render_statement` are pure
functions of a document and the `Supplier` (docs/adr/0005-invoice-pdfs.md).
"""

from bot.pdf.documents import (
    Customer,
    DocumentLine,
    Due,
    InvoiceDocument,
    MonthSpend,
    Paid,
    PaymentState,
    StatementDocument,
    StatementInvoice,
    StatementPayment,
    Supplier,
    VatRateTotal,
    Voided,
    supplier_from_settings,
)
from bot.pdf.invoice import payment_wording, render_invoice
from bot.pdf.layout import pdf_sha256
from bot.pdf.sources import invoice_document, invoice_payments, statement_document
from bot.pdf.statement import render_statement

__all__ = [
    "Customer",
    "DocumentLine",
    "Due",
    "InvoiceDocument",
    "MonthSpend",
    "Paid",
    "PaymentState",
    "StatementDocument",
    "StatementInvoice",
    "StatementPayment",
    "Supplier",
    "VatRateTotal",
    "Voided",
    "invoice_document",
    "invoice_payments",
    "payment_wording",
    "pdf_sha256",
    "render_invoice",
    "render_statement",
    "statement_document",
    "supplier_from_settings",
]
