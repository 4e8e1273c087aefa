-- Priority lanes (bot/core/lanes.py): 1 a reply to someone who has just acted, 2 the team's side (Slack),
-- 3 notifications, 4 bulk (campaigns, follow-ups, surveys). Kept on the row, so the order survives a restart.
-- Rows queued before this migration take lane 3 (Slack's take 2): behind new replies, ahead of bulk.
ALTER TABLE outbox ADD COLUMN lane INTEGER NOT NULL DEFAULT 3;
UPDATE outbox SET lane = 2 WHERE platform IN ('slack', 'slack_home') AND status IN ('pending', 'sending');
-- The claim looks for open rows above the bulk lane first (storage/outbox_sql.py): this finds those few among a
-- campaign's thousands without reading the campaign. Sent rows, most of the table, are not in it.
CREATE INDEX outbox_open_by_lane ON outbox (lane, status, platform) WHERE status IN ('pending', 'sending');
