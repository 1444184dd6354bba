-- audit_enqueue: queue one action's audit fields in the caller's transaction (PostgreSQL).
-- The only way SQL owned by another app (registry's lineage ingestion) adds to the audit log: it queues
-- here, and the sequencer (audit.services.audit_sequence) integrates the row once the caller commits.
-- p_fields is the action's canonical JSON (RFC 8785) as audit.services.audit_fields shapes it.
CREATE OR REPLACE FUNCTION audit_enqueue(p_created_at timestamptz, p_fields text) RETURNS void
LANGUAGE sql VOLATILE AS $$
    INSERT INTO audit_auditpending (created_at, fields) VALUES (p_created_at, p_fields);
$$
