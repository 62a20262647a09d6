-- The day's numbers (issue 12, point 6) read the orders paid in a period. A
-- paid order's updated_at is the time of its pay op, and it never changes
-- after (no edit is accepted once paid), so it is the time of payment.
CREATE INDEX orders_paid_by_time ON orders (updated_at) WHERE state = 'paid';
