-- audit_sequencer_take: become the sequencer without waiting and, if so, read the head and the oldest
-- queued rows: one round trip. No rows back means another session holds the lock; it integrates ours.
-- Loaded by audit/migrations/0008_set_based_sequencer.py; called by audit.sequencing.
-- The head comes first (its id column NULL), then the queued rows in id order.
CREATE OR REPLACE FUNCTION audit_sequencer_take(p_key bigint, p_limit integer)
RETURNS TABLE (size bigint, last_hash text, compact_range bytea, id bigint, created_at timestamptz, fields text)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    IF NOT pg_try_advisory_lock(p_key) THEN
        RETURN;
    END IF;
    BEGIN
        -- A new snapshot per statement: both reads see every row committed before the lock was taken.
        RETURN QUERY
            SELECT h.size, h.last_hash::text, h.compact_range, NULL::bigint, NULL::timestamptz, NULL::text
            FROM audit_audithead AS h WHERE h.id = 1;
        RETURN QUERY
            SELECT NULL::bigint, NULL::text, NULL::bytea, q.id, q.created_at, q.fields
            FROM audit_auditpending AS q ORDER BY q.id LIMIT p_limit;
    EXCEPTION WHEN OTHERS OR query_canceled THEN
        -- A session lock outlives the failed statement: release it, or nobody could sequence again.
        PERFORM pg_advisory_unlock(p_key);
        RAISE;
    END;
END;
$$
