-- possync's SQLite schema.
--
-- Money is INTEGER minor units, quantities INTEGER thousandths, rates INTEGER
-- basis points, times INTEGER unix milliseconds: never REAL, so nothing is
-- rounded by the database. STRICT tables refuse a value of the wrong type
-- instead of quietly converting it.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    login         TEXT    NOT NULL UNIQUE,
    name          TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('manager', 'cashier')),
    password_hash TEXT    NOT NULL
) STRICT;

CREATE TABLE configs (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    auto_share INTEGER NOT NULL CHECK (auto_share IN (0, 1))
) STRICT;

-- Each link is kept once, as (smaller id, larger id), so a link is two-way by
-- construction and can never be half removed.
CREATE TABLE sync_links (
    config_a INTEGER NOT NULL REFERENCES configs (id),
    config_b INTEGER NOT NULL REFERENCES configs (id),
    PRIMARY KEY (config_a, config_b),
    CHECK (config_a < config_b)
) STRICT, WITHOUT ROWID;

CREATE INDEX sync_links_by_config_b ON sync_links (config_b);

CREATE TABLE sessions (
    id           INTEGER PRIMARY KEY,
    config_id    INTEGER NOT NULL REFERENCES configs (id),
    state        TEXT    NOT NULL CHECK (state IN ('open', 'closed')),
    opened_at    INTEGER NOT NULL,
    closed_at    INTEGER,
    opened_by    INTEGER NOT NULL REFERENCES users (id),
    opening_cash INTEGER NOT NULL,
    counted_cash INTEGER,
    CHECK ((state = 'open') = (closed_at IS NULL))
) STRICT;

-- The backstop for "at most one open session per config": whatever the code
-- does, the database refuses a second open session.
CREATE UNIQUE INDEX sessions_one_open_per_config ON sessions (config_id) WHERE state = 'open';

-- Tokens are kept by their hash only.
CREATE TABLE tokens (
    hash       TEXT    PRIMARY KEY,
    owner_kind TEXT    NOT NULL CHECK (owner_kind IN ('user', 'terminal')),
    user_id    INTEGER NOT NULL REFERENCES users (id),
    session_id INTEGER REFERENCES sessions (id),
    created_at INTEGER NOT NULL,
    CHECK ((owner_kind = 'terminal') = (session_id IS NOT NULL))
) STRICT, WITHOUT ROWID;

CREATE TABLE categories (
    id   INTEGER PRIMARY KEY,
    name TEXT    NOT NULL
) STRICT;

CREATE TABLE taxes (
    id             INTEGER PRIMARY KEY,
    name           TEXT    NOT NULL,
    rate_bp        INTEGER NOT NULL CHECK (rate_bp BETWEEN 0 AND 10000),
    price_included INTEGER NOT NULL CHECK (price_included IN (0, 1))
) STRICT;

CREATE TABLE products (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL,
    price_minor   INTEGER NOT NULL,
    category_id   INTEGER REFERENCES categories (id),
    -- UNIQUE lets any number of products have no barcode (NULLs never clash).
    barcode       TEXT    UNIQUE,
    tracks_stock  INTEGER NOT NULL CHECK (tracks_stock IN (0, 1)),
    on_hand_milli INTEGER NOT NULL
) STRICT;

CREATE TABLE product_taxes (
    product_id INTEGER NOT NULL REFERENCES products (id),
    tax_id     INTEGER NOT NULL REFERENCES taxes (id),
    PRIMARY KEY (product_id, tax_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE customers (
    id    INTEGER PRIMARY KEY,
    name  TEXT    NOT NULL,
    email TEXT,
    phone TEXT
) STRICT;

CREATE TABLE payment_methods (
    id   INTEGER PRIMARY KEY,
    name TEXT    NOT NULL,
    kind TEXT    NOT NULL CHECK (kind IN ('cash', 'card', 'other'))
) STRICT;

-- The current state of every order. `body` is the whole order as JSON (what
-- terminals receive); the other columns are copies of its fields that queries
-- filter or add up on, written from the same value in the same statement.
CREATE TABLE orders (
    id                 TEXT    PRIMARY KEY,
    state              TEXT    NOT NULL CHECK (state IN ('draft', 'paid', 'cancelled')),
    origin_config_id   INTEGER NOT NULL REFERENCES configs (id),
    origin_session_id  INTEGER NOT NULL REFERENCES sessions (id),
    shared             INTEGER NOT NULL CHECK (shared IN (0, 1)),
    version            INTEGER NOT NULL CHECK (version >= 1),
    paid_by_session_id INTEGER REFERENCES sessions (id),
    total_minor        INTEGER NOT NULL,
    tax_minor          INTEGER NOT NULL,
    change_minor       INTEGER NOT NULL,
    body               TEXT    NOT NULL,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    CHECK ((state = 'paid') = (paid_by_session_id IS NOT NULL))
) STRICT;

CREATE INDEX orders_by_state ON orders (state, created_at, id);
CREATE INDEX orders_by_paid_session ON orders (paid_by_session_id) WHERE paid_by_session_id IS NOT NULL;

-- The append-only log of accepted ops. The primary key keeps versions unique
-- per order; the UNIQUE op_id keeps one effect per op even if two writers race.
CREATE TABLE order_ops (
    order_id TEXT    NOT NULL REFERENCES orders (id),
    version  INTEGER NOT NULL CHECK (version >= 1),
    op_id    TEXT    NOT NULL UNIQUE,
    op       TEXT    NOT NULL,
    by_json  TEXT    NOT NULL,
    at       INTEGER NOT NULL,
    PRIMARY KEY (order_id, version)
) STRICT;

-- The first final answer given to each op, accepted or rejected. No foreign
-- key on order_id: a reject may name an order that never came to exist.
CREATE TABLE op_outcomes (
    op_id    TEXT    PRIMARY KEY,
    order_id TEXT    NOT NULL,
    outcome  TEXT    NOT NULL,
    at       INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- Written once, when an order becomes paid; `session_id` is the session that took the payment.
CREATE TABLE payments (
    id           INTEGER PRIMARY KEY,
    order_id     TEXT    NOT NULL REFERENCES orders (id),
    session_id   INTEGER NOT NULL REFERENCES sessions (id),
    method_id    INTEGER NOT NULL REFERENCES payment_methods (id),
    amount_minor INTEGER NOT NULL,
    at           INTEGER NOT NULL
) STRICT;

CREATE INDEX payments_by_session ON payments (session_id, method_id);
CREATE INDEX payments_by_order ON payments (order_id);

CREATE TABLE stock_moves (
    id         INTEGER PRIMARY KEY,
    product_id INTEGER NOT NULL REFERENCES products (id),
    order_id   TEXT    NOT NULL REFERENCES orders (id),
    qty_milli  INTEGER NOT NULL,
    at         INTEGER NOT NULL
) STRICT;

CREATE INDEX stock_moves_by_product ON stock_moves (product_id, id);

-- The invoice number is the row id: invoices are never deleted, so numbers
-- run in order without reuse.
CREATE TABLE invoices (
    number      INTEGER PRIMARY KEY,
    order_id    TEXT    NOT NULL UNIQUE REFERENCES orders (id),
    customer_id INTEGER NOT NULL REFERENCES customers (id),
    at          INTEGER NOT NULL
) STRICT;
