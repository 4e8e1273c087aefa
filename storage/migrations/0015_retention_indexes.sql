-- The retention prune (RETENTION_DAYS, storage/retention_sql.py) reads each table's oldest rows in time order from
-- these, a batch at a time, instead of reading the table. Only sent outbox rows have sent_at, so only they are in
-- its index: queuing and claiming a row write nothing here.
CREATE INDEX outbox_by_sent_at ON outbox (sent_at, id) WHERE sent_at IS NOT NULL;
CREATE INDEX events_by_time ON events (created_at, id);
CREATE INDEX processed_inbound_by_time ON processed_inbound (processed_at, id);
CREATE INDEX request_keys_by_time ON request_keys (first_used_at, id);
-- A pruned outbox row's subjects (migration 0014) go with it.
CREATE INDEX outbox_subjects_by_row ON outbox_subjects (outbox_id);
