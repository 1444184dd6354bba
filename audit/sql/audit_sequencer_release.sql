-- audit_sequencer_release: release the sequencer's advisory lock, then look at the queue (one round trip).
-- Loaded by audit/migrations/0005_sequencer_release.py, again by 0008 and 0009; called by audit.sequencing.
-- Between the two it waits for the appenders' lock (lock_key + 1): an audit_append statement that found
-- the sequencer's lock held has left its row to us and holds that lock, shared, until it commits, so
-- the look (a fresh snapshot: a VOLATILE function takes one per statement) sees its row. Those
-- statements are single inserts, so the wait is a matter of microseconds, never a caller's transaction.
-- The look goes by the primary key (ORDER BY id): the queue churns, and a sequential scan would walk
-- every dead row that autovacuum has not reclaimed yet.
CREATE OR REPLACE FUNCTION audit_sequencer_release(lock_key bigint) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_unlock(lock_key);
    PERFORM pg_advisory_lock(lock_key + 1);
    PERFORM pg_advisory_unlock(lock_key + 1);
    PERFORM FROM audit_auditpending AS q ORDER BY q.id LIMIT 1;
    RETURN FOUND;
END;
$$
