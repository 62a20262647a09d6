//! possync-core: the deterministic domain of possync.
//!
//! Everything here is a pure function of its inputs: money and quantities as
//! exact integers, the catalog, configs and their sync links, orders and the
//! ops that edit them, totals and taxes, visibility and payment rules. There
//! is no I/O, no clock and no randomness in this crate: time, ids and the
//! catalog are passed in. That is what lets the engine and the simulation
//! replay any history exactly.

pub mod apply;
pub mod catalog;
pub mod ids;
pub mod journal;
pub mod limits;
pub mod links;
pub mod numbers;
pub mod op;
pub mod order;
pub mod patch;
pub mod payment;
pub mod printing;
pub mod receipt;
pub mod refund;
pub mod report;
pub mod rights;
pub mod sales;
pub mod stock;
pub mod text;
pub mod timestamp;
pub mod totals;
pub mod visibility;

pub use apply::{Applied, ApplyContext, CatalogView, SaleProduct, apply};
pub use catalog::*;
pub use ids::*;
pub use journal::{CommitEntry, HistoryEntry, OpOutcome};
pub use links::{LinkError, SyncLinks};
pub use numbers::{Discount, Money, NumberError, Quantity, TaxRate};
pub use op::{Op, PaymentInput, Reject, RejectCode};
pub use order::{
    By, InvalidOrder, Line, LineTax, Lock, Order, OrderState, Origin, Payment, Totals,
};
pub use patch::Patch;
pub use payment::{
    Invoice, OnHand, PaymentEffects, PaymentError, PaymentLedger, StockLevel, StockMove,
};
pub use printing::{
    InvalidPrinterAddress, PRINT_JOBS_QUEUED_PER_PRINTER_MAX, PrintDocument, PrintInputs, PrintJob,
    PrintJobNew, PrintKind, PrintLine, PrintOutcome, PrintStyle, PrinterAddress, PrinterCheck,
    PrinterState, PrinterStatus, RECEIPT_PRINT_COLUMNS, ReceiptPrint, drawer_pulse_due,
    payment_opens_drawer, receipt_print_job, receipt_print_lines, session_report_print_lines,
};
pub use receipt::{
    InvoiceDocument, Receipt, ReceiptNames, Shop, ShopChanges, TaxAmount, build_invoice,
    build_receipt, invoice_number, receipt_number, tax_breakdown,
};
pub use refund::{
    RefundLineRequest, changes_refund_lines, check_refund_qty, check_refunds_within_sold,
    refund_lines, refundable_quantities, refunded_quantities,
};
pub use report::{
    CashMove, CashSummary, PaidOrderSummary, PaymentTotal, ReportError, ReportTax, SessionActivity,
    SessionReport, session_report,
};
pub use rights::{
    Approval, ApprovalClaim, ApprovalSecret, PIN_DIGITS_MAX, PIN_DIGITS_MIN, Pin, PinError, Rights,
    needs_price_control,
};
pub use sales::{
    CounterSales, SaleFact, SaleLine, SalesGrouping, SalesNames, SalesPeriod, SalesPeriodError,
    SalesReport, SalesRow, sales_report,
};
pub use stock::{
    AdjustmentReason, StockAdjustment, StockAdjustmentError, StockAdjustmentInput, StockMoveEntry,
    StockMoveReason, plan_stock_adjustment,
};
pub use text::{Name, Note, TextError};
pub use timestamp::Timestamp;
pub use visibility::{can_read, can_see_draft};
