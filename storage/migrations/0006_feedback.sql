-- Feedback: the NPS question and its answer, and free-text answers to the program-feedback survey.
-- One nps_answers row per question asked; the score is set once (UPDATE ... WHERE score IS NULL), so a
-- replayed or repeated click stores nothing twice. dedupe_key makes automatic questions (after a
-- conversion, N days after joining) one per cause; /feedback questions have none.

CREATE TABLE nps_answers (
    id TEXT PRIMARY KEY,
    customer_id BIGINT NOT NULL REFERENCES customers (telegram_id),
    trigger TEXT NOT NULL,
    dedupe_key TEXT UNIQUE,
    variant TEXT,
    score INTEGER,
    comment TEXT,
    answered_at TEXT,
    commented_at TEXT,
    alerted_at TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX nps_answers_by_customer ON nps_answers (customer_id, created_at);
CREATE INDEX nps_answers_by_time ON nps_answers (answered_at);

CREATE TABLE feedback_answers (
    id TEXT PRIMARY KEY,
    customer_id BIGINT NOT NULL REFERENCES customers (telegram_id),
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX feedback_answers_by_time ON feedback_answers (created_at);
