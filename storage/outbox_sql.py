"""The outbox claim query shared by the SQL backends."""


def _due(t: str) -> str:
    return (
        f"(({t}.status = 'pending' AND {t}.next_attempt_at <= ?) OR ({t}.status = 'sending' AND {t}.lease_until <= ?))"
    )


# A row is handed out only when every earlier open row of its chat is handed out too, so a chat's
# messages never overtake one that is waiting for a retry. The first blocked row of each chat is found
# once (not once per candidate row), so a long backlog in one channel stays cheap to claim from.
CLAIMABLE = f"""
WITH blocked AS (
    SELECT e.platform, e.chat_id, MIN(e.rowid) AS first FROM outbox e
    WHERE e.status IN ('pending', 'sending') AND NOT {_due("e")} GROUP BY e.platform, e.chat_id
)
SELECT o.* FROM outbox o LEFT JOIN blocked b ON b.platform = o.platform AND b.chat_id = o.chat_id
WHERE {_due("o")} AND (? IS NULL OR o.platform = ?) AND (b.first IS NULL OR o.rowid < b.first)
ORDER BY o.rowid LIMIT ?
"""
