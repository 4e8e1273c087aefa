-- Whose names each outbox row's text carries, besides its recipient's (bot/core/subjects.py): "tg:<telegram id>"
-- for a customer, "friend:<referral id>" for a referral's friend. Written with the row, so forgetting a person
-- erases what names them by whose name it is, not by searching the text, which cannot find a name of one or two
-- letters. Rows queued before this table existed have none: for them the erasure still searches the text.
CREATE TABLE outbox_subjects (
    subject TEXT NOT NULL,
    outbox_id TEXT NOT NULL,
    PRIMARY KEY (subject, outbox_id)
);
