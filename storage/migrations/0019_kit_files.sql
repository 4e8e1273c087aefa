-- The referral kit's files as Telegram keeps them: each photo or document is uploaded once, the first time a
-- customer's /kit sends it, and from then on sent, and offered in inline share cards, by the file_id Telegram gave it.
-- Keyed by the SHA-256 of the file's bytes, so a file replaced under the same name is uploaded again.
CREATE TABLE kit_files (
    kind TEXT NOT NULL,
    digest TEXT NOT NULL,
    file_id TEXT NOT NULL,
    uploaded_at TEXT NOT NULL,
    PRIMARY KEY (kind, digest)
);
