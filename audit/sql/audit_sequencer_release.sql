-- audit_sequencer_release: release the sequencer's advisory lock, then look at the queue (one round trip).
-- Loaded by audit/migrations/0005_sequencer_release.py; called by audit.services.audit_sequence.
CREATE OR REPLACE FUNCTION audit_sequencer_release(lock_key bigint) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_unlock(lock_key);
    RETURN EXISTS (SELECT 1 FROM audit_auditpending);
END;
$$
