-- Receipt printers and cash drawers (issue 12): the network printer of a
-- config, the jobs queued for it, and what the last attempt found there.

-- "host:port" of a raw ESC/POS printer; NULL: none.
ALTER TABLE configs ADD COLUMN printer TEXT;

-- A receipt to print. The receipt job of a payment is written in the
-- payment's transaction; a reprint by the API. A job is taken under a lease
-- (leased_until) by one node at a time, oldest first per config, and leaves
-- the queue once printed or abandoned (done_at, outcome).
CREATE TABLE print_jobs (
    id           INTEGER PRIMARY KEY,
    config_id    INTEGER NOT NULL REFERENCES configs (id),
    order_id     TEXT    NOT NULL REFERENCES orders (id),
    kind         TEXT    NOT NULL CHECK (kind IN ('receipt', 'reprint')),
    open_drawer  INTEGER NOT NULL CHECK (open_drawer IN (0, 1)),
    queued_at    INTEGER NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    leased_until INTEGER,
    done_at      INTEGER,
    outcome      TEXT    CHECK (outcome IN ('printed', 'abandoned')),
    last_error   TEXT    NOT NULL DEFAULT '',
    CHECK ((done_at IS NULL) = (outcome IS NULL))
) STRICT;

CREATE INDEX print_jobs_waiting ON print_jobs (config_id, id) WHERE done_at IS NULL;

-- What the last attempt at each config's printer found.
CREATE TABLE printer_states (
    config_id  INTEGER PRIMARY KEY REFERENCES configs (id),
    online     INTEGER NOT NULL CHECK (online IN (0, 1)),
    checked_at INTEGER NOT NULL,
    last_error TEXT    NOT NULL DEFAULT ''
) STRICT;
