-- A counter's pages of orders by index (issue 8, point 6): a terminal reads
-- the orders of its own counter and the paid orders its counter took the
-- money for. Both filters now have an index in page order, so a page reads
-- its own rows and no more, however much of the shop's history belongs to
-- other counters. `paid_by_config_id` copies the paying session's config,
-- written with `paid_by_session_id`.
ALTER TABLE orders ADD COLUMN paid_by_config_id BIGINT REFERENCES configs (id);

UPDATE orders
   SET paid_by_config_id = (SELECT config_id FROM sessions WHERE sessions.id = orders.paid_by_session_id)
 WHERE paid_by_session_id IS NOT NULL;

CREATE INDEX orders_by_origin_state ON orders (origin_config_id, state, created_at, id);
CREATE INDEX orders_by_paying_config ON orders (paid_by_config_id, created_at, id)
    WHERE paid_by_config_id IS NOT NULL;
