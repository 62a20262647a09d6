-- Refunds (issue 8, point 3): a refund draft names the paid order it refunds.
-- The column copies the body's `refund_of`, written once when the refund is
-- created, so the refunds of an order are found by index: the check that no
-- line comes back beyond what was sold reads every refund of the order that
-- is not cancelled, inside the transaction that writes a new one.
ALTER TABLE orders ADD COLUMN refund_of TEXT REFERENCES orders (id);

CREATE INDEX orders_by_refund_of ON orders (refund_of) WHERE refund_of IS NOT NULL;
