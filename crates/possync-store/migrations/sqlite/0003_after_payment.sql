-- After payment (issue 12): receipt numbers per session, tax per rate of each
-- paid order, cash in/out, the shop's header, and stock moves that are manual
-- adjustments (a count, a delivery) as well as sales.

-- The last receipt number a session gave; a paying transaction reads and
-- advances it, so numbers run 1, 2, 3... per session without gaps.
ALTER TABLE sessions ADD COLUMN last_receipt_number INTEGER NOT NULL DEFAULT 0 CHECK (last_receipt_number >= 0);

ALTER TABLE orders ADD COLUMN receipt_sequence INTEGER CHECK (receipt_sequence >= 1);
ALTER TABLE orders ADD COLUMN receipt_number TEXT;

-- The backstop for "no receipt number twice in a session".
CREATE UNIQUE INDEX orders_receipt_per_session ON orders (paid_by_session_id, receipt_sequence)
    WHERE receipt_sequence IS NOT NULL;

-- The tax per (tax, rate) of each paid order, written with the payment and
-- booked to the session that took it (what the session report adds up).
CREATE TABLE order_taxes (
    order_id     TEXT    NOT NULL REFERENCES orders (id),
    session_id   INTEGER NOT NULL REFERENCES sessions (id),
    tax_id       INTEGER NOT NULL,
    rate_bp      INTEGER NOT NULL CHECK (rate_bp BETWEEN 0 AND 10000),
    base_minor   INTEGER NOT NULL,
    amount_minor INTEGER NOT NULL,
    PRIMARY KEY (order_id, tax_id, rate_bp)
) STRICT, WITHOUT ROWID;

CREATE INDEX order_taxes_by_session ON order_taxes (session_id);

CREATE TABLE cash_moves (
    id           INTEGER PRIMARY KEY,
    session_id   INTEGER NOT NULL REFERENCES sessions (id),
    amount_minor INTEGER NOT NULL CHECK (amount_minor <> 0),
    reason       TEXT    NOT NULL,
    user_id      INTEGER NOT NULL REFERENCES users (id),
    at           INTEGER NOT NULL
) STRICT;

CREATE INDEX cash_moves_by_session ON cash_moves (session_id, id);

-- One row: the shop as receipts and invoices name it.
CREATE TABLE shop (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    name           TEXT    NOT NULL,
    address        TEXT    NOT NULL,
    vat_number     TEXT    NOT NULL,
    receipt_footer TEXT    NOT NULL
) STRICT;

INSERT INTO shop (id, name, address, vat_number, receipt_footer) VALUES (1, 'My shop', '', '', '');

-- A stock move is a sale or refund (order_id) or a manual adjustment (a
-- reason and the user who made it). SQLite cannot relax NOT NULL in place.
CREATE TABLE stock_moves_new (
    id            INTEGER PRIMARY KEY,
    product_id    INTEGER NOT NULL REFERENCES products (id),
    order_id      TEXT    REFERENCES orders (id),
    qty_milli     INTEGER NOT NULL,
    at            INTEGER NOT NULL,
    reason        TEXT    NOT NULL DEFAULT '',
    user_id       INTEGER REFERENCES users (id),
    CHECK ((order_id IS NULL) = (user_id IS NOT NULL))
) STRICT;

INSERT INTO stock_moves_new (id, product_id, order_id, qty_milli, at)
    SELECT id, product_id, order_id, qty_milli, at FROM stock_moves;
DROP TABLE stock_moves;
ALTER TABLE stock_moves_new RENAME TO stock_moves;
CREATE INDEX stock_moves_by_product ON stock_moves (product_id, id);
CREATE INDEX stock_moves_by_order ON stock_moves (order_id) WHERE order_id IS NOT NULL;

-- A low-stock threshold per product (NULL: none).
ALTER TABLE products ADD COLUMN low_stock_milli INTEGER;
