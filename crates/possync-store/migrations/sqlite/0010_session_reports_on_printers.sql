-- A print job may print a session's report (issue 12, point 5) instead of a
-- paid order's receipt: order_id becomes optional and session_id names the
-- session. SQLite cannot relax NOT NULL in place, so the table is rebuilt.
CREATE TABLE print_jobs_new (
    id           INTEGER PRIMARY KEY,
    config_id    INTEGER NOT NULL REFERENCES configs (id),
    order_id     TEXT    REFERENCES orders (id),
    session_id   INTEGER REFERENCES sessions (id),
    kind         TEXT    NOT NULL CHECK (kind IN ('receipt', 'reprint', 'session_report')),
    open_drawer  INTEGER NOT NULL CHECK (open_drawer IN (0, 1)),
    queued_at    INTEGER NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    leased_until INTEGER,
    done_at      INTEGER,
    outcome      TEXT    CHECK (outcome IN ('printed', 'abandoned')),
    last_error   TEXT    NOT NULL DEFAULT '',
    CHECK ((done_at IS NULL) = (outcome IS NULL)),
    CHECK ((kind = 'session_report') = (session_id IS NOT NULL)),
    CHECK ((kind = 'session_report') = (order_id IS NULL))
) STRICT;

INSERT INTO print_jobs_new (id, config_id, order_id, session_id, kind, open_drawer, queued_at,
                            attempts, leased_until, done_at, outcome, last_error)
    SELECT id, config_id, order_id, NULL, kind, open_drawer, queued_at,
           attempts, leased_until, done_at, outcome, last_error FROM print_jobs;
DROP TABLE print_jobs;
ALTER TABLE print_jobs_new RENAME TO print_jobs;
CREATE INDEX print_jobs_waiting ON print_jobs (config_id, id) WHERE done_at IS NULL;
