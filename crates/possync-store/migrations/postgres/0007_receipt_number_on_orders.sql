-- A paid order carries its receipt number on the order object (PROTOCOL.md
-- "After payment"). Payments now write it into the order's body too; this
-- gives the orders paid before that the number they were given.
UPDATE orders SET body = jsonb_set(body, '{receipt_number}', to_jsonb(receipt_number))
    WHERE receipt_number IS NOT NULL;
