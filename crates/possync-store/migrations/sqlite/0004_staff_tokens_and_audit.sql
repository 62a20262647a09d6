-- Who may do what (issue 8): a user may be deactivated, a cashier opens only
-- the counters named in user_configs, and a token expires or is revoked.

ALTER TABLE users ADD COLUMN active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1));

CREATE TABLE user_configs (
    user_id   INTEGER NOT NULL REFERENCES users (id),
    config_id INTEGER NOT NULL REFERENCES configs (id),
    PRIMARY KEY (user_id, config_id)
) STRICT, WITHOUT ROWID;

-- Cashiers of an existing shop keep the counters they could open before.
INSERT INTO user_configs (user_id, config_id)
    SELECT users.id, configs.id FROM users CROSS JOIN configs WHERE users.role = 'cashier';

-- NULL expires_at: the token lives as long as its session (terminal tokens).
ALTER TABLE tokens ADD COLUMN expires_at INTEGER;
ALTER TABLE tokens ADD COLUMN revoked_at INTEGER;

CREATE INDEX tokens_by_user ON tokens (user_id);
CREATE INDEX tokens_by_session ON tokens (session_id) WHERE session_id IS NOT NULL;

-- The audit trail of manager actions (links, prices, users, approvals, session
-- closes): who did what, when. Append-only; `details` is a JSON object.
CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY,
    at      INTEGER NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (id),
    action  TEXT    NOT NULL,
    target  TEXT    NOT NULL,
    details TEXT    NOT NULL
) STRICT;
