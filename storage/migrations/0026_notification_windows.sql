-- Each chat's window for notifications of one merge kind (thank-yous, reward notices), so a burst reaches a
-- customer as about one merged message a minute (bot/core/notifications.py). Portable SQL; times are epoch
-- milliseconds so the window's arithmetic is the same plain integer sum on both backends.
-- opened_ms: when the chat's current window opened, or the slot its next notifications wait for (in the future);
-- sent: how many notifications the window has let through or gathered (up to the chat's burst);
-- waiting_key: the dedupe key of the outbox row that waits for that slot, which later ones fold into.
CREATE TABLE notification_windows (
    platform TEXT NOT NULL,
    chat_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    opened_ms BIGINT NOT NULL,
    sent INTEGER NOT NULL,
    waiting_key TEXT,
    PRIMARY KEY (platform, chat_id, kind)
);
