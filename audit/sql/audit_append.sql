-- audit_append: queue one action's audit fields as a statement of its own (autocommit), in one round trip.
-- Loaded by audit/migrations/0009_one_statement_append.py; called by audit.sequencing.append_postgres for
-- an action recorded outside any transaction (a page of entries read, a refusal, a login, an export).
-- p_lock_key is the sequencer's advisory lock; p_lock_key + 1 is the appenders' lock.
--
-- Returns whether the caller should try to sequence after this statement commits: true when no sequencer
-- holds the lock. When one does, the caller spends nothing more: this statement holds the appenders' lock
-- (shared) until it commits, and the holder, before it looks at the queue one last time, waits for that
-- lock (audit_sequencer_release), so it sees this row. The test of the sequencer's lock is a shared try,
-- held to the commit too, so appenders never wait on one another; a sequencer's try that meets it fails,
-- and the appender holding it tries after its own commit, which is later.
CREATE OR REPLACE FUNCTION audit_append(p_created_at timestamptz, p_fields text, p_lock_key bigint)
RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(p_lock_key + 1);
    INSERT INTO audit_auditpending (created_at, fields) VALUES (p_created_at, p_fields);
    RETURN pg_try_advisory_xact_lock_shared(p_lock_key);
END;
$$
