-- Stock adjustments (issue 12, point 4): a manual move says why in `reason`
-- (count, delivery, damage, loss, correction) and may carry a note; a move of
-- a sale or refund keeps an empty reason and names its order.
ALTER TABLE stock_moves ADD COLUMN note TEXT NOT NULL DEFAULT '';
