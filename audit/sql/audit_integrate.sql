-- audit_integrate: write one sequenced batch (head, entries, Merkle nodes, queue rows taken) in one statement.
-- Loaded by audit/migrations/0006_integrate_function.py; called by audit.services.audit_sequence.
CREATE OR REPLACE FUNCTION audit_integrate(p jsonb) RETURNS void LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_deleted bigint;
BEGIN
    UPDATE audit_audithead
    SET size = (p->>'size')::bigint, last_hash = p->>'last_hash',
        compact_range = decode(p->>'compact_range', 'hex'), updated_at = (p->>'updated_at')::timestamptz
    WHERE id = 1 AND size = (p->>'old_size')::bigint;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'audit head is no longer at size %; batch not written', p->>'old_size';
    END IF;
    INSERT INTO audit_auditentry
        ("index", "timestamp", actor_type, actor_id, action, target_type, target_id, request_id, entry)
    SELECT (e->>0)::bigint, (e->>1)::timestamptz, e->>2, e->>3, e->>4, e->>5, e->>6, e->>7, e->>8
    FROM jsonb_array_elements(p->'entries') AS e;
    INSERT INTO audit_auditnode (key, hash)
    SELECT (n->>0)::bigint, decode(n->>1, 'hex') FROM jsonb_array_elements(p->'nodes') AS n;
    DELETE FROM audit_auditpending
    WHERE id IN (SELECT q::bigint FROM jsonb_array_elements_text(p->'pending') AS q);
    GET DIAGNOSTICS v_deleted = ROW_COUNT;
    IF v_deleted <> jsonb_array_length(p->'pending') THEN
        RAISE EXCEPTION 'audit queue rows already taken; batch not written';
    END IF;
END;
$$
