-- audit_append: queue actions' audit fields as a statement of its own (autocommit), in one round trip.
-- Loaded by audit/migrations/0009_one_statement_append.py and, in this array form, by
-- 0010_append_many.py; called by audit.sequencing.append_postgres for one action recorded outside any
-- transaction (a page of entries read, a refusal, a login, an export), and by the audit committer
-- (audit/committer.py) for every action its clients handed it since its last statement, in their order.
-- p_lock_key is the sequencer's advisory lock; p_lock_key + 1 is the appenders' lock.
--
-- Returns whether the caller should try to sequence after this statement commits: true when no sequencer
-- holds the lock. When one does, the caller spends nothing more: this statement holds the appenders' lock
-- (shared) until it commits, and the holder, before it looks at the queue one last time, waits for that
-- lock (audit_sequencer_release), so it sees these rows. The test of the sequencer's lock is a shared try,
-- held to the commit too, so appenders never wait on one another; a sequencer's try that meets it fails,
-- and the appender holding it tries after its own commit, which is later.
CREATE OR REPLACE FUNCTION audit_append(p_created_at timestamptz[], p_fields text[], p_lock_key bigint)
RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    IF cardinality(p_created_at) IS DISTINCT FROM cardinality(p_fields) THEN
        RAISE EXCEPTION 'audit_append: % timestamps for % fields', cardinality(p_created_at),
            cardinality(p_fields);
    END IF;
    PERFORM pg_advisory_xact_lock_shared(p_lock_key + 1);
    INSERT INTO audit_auditpending (created_at, fields)
    SELECT a.created_at, a.fields FROM unnest(p_created_at, p_fields) WITH ORDINALITY AS a(created_at, fields, ord)
    ORDER BY a.ord;
    RETURN pg_try_advisory_xact_lock_shared(p_lock_key);
END;
$$
