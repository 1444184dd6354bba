-- audit_sequencer_release: release the sequencer's advisory lock, then look at the queue (one round trip).
-- Loaded by audit/migrations/0005_sequencer_release.py, again by 0008; called by audit.sequencing.
-- The look goes by the primary key (ORDER BY id): the queue churns, and a sequential scan would walk
-- every dead row that autovacuum has not reclaimed yet.
CREATE OR REPLACE FUNCTION audit_sequencer_release(lock_key bigint) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_unlock(lock_key);
    PERFORM FROM audit_auditpending AS q ORDER BY q.id LIMIT 1;
    RETURN FOUND;
END;
$$
