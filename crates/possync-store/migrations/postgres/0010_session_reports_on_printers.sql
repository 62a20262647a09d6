-- A print job may print a session's report (issue 12, point 5) instead of a
-- paid order's receipt: order_id becomes optional and session_id names the session.
ALTER TABLE print_jobs ALTER COLUMN order_id DROP NOT NULL;
ALTER TABLE print_jobs ADD COLUMN session_id BIGINT REFERENCES sessions (id);
ALTER TABLE print_jobs DROP CONSTRAINT print_jobs_kind_check;
ALTER TABLE print_jobs ADD CONSTRAINT print_jobs_kind_check
    CHECK (kind IN ('receipt', 'reprint', 'session_report'));
ALTER TABLE print_jobs ADD CONSTRAINT print_jobs_document_check
    CHECK ((kind = 'session_report') = (session_id IS NOT NULL)
       AND (kind = 'session_report') = (order_id IS NULL));
