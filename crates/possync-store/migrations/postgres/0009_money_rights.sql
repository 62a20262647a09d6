-- Money rights (issue 8, point 3): a counter may keep prices, discounts,
-- negative quantities and refunds for managers; a manager approves one op at
-- a till with a PIN (stored hashed, like passwords); the history names who
-- approved an op.

ALTER TABLE configs ADD COLUMN restrict_price_control BOOLEAN NOT NULL DEFAULT FALSE;

-- An argon2id hash; NULL: the user has no PIN and approves nothing at a till.
ALTER TABLE users ADD COLUMN pin_hash TEXT;

ALTER TABLE order_ops ADD COLUMN approved_by BIGINT REFERENCES users (id);
