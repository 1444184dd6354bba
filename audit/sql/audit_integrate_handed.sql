-- audit_integrate_handed: write one sequenced batch set-based, then read the next one (one round trip).
-- Loaded by audit/migrations/0010_append_many.py (it replaces audit_integrate_batch, which took queued
-- rows only) and again by 0011_integrate_parse_once.py (one parse per entry); called by audit.sequencing,
-- which holds the sequencer lock and built the batch on the head of size p_old_size. A batch is queued
-- rows first, then actions handed straight to the sequencer by the audit committer (audit/committer.py),
-- which never pass through the queue:
--   p_ids          the queued rows integrated, in entry order (entry k gets index p_old_size + k - 1);
--   p_handed_at    the created_at of each handed action, in entry order after the queued rows;
--   p_entries      every entry's canonical JSON, one per line (RFC 8785 output has no raw newline);
--   p_node_keys    the perfect subtrees completed (AuditNode.key_for), p_node_hashes their 32-byte
--                  hashes concatenated in the same order;
--   p_last_hash, p_compact_range  the new head's last entry hash and compact range.
-- The filter columns are copied from each entry, its timestamp column from its queue row or p_handed_at.
-- Each entry is parsed once (json_to_record takes its four top-level members in one pass; the json
-- operators would scan the whole text again for each column), then only the small actor and target
-- objects are looked into.
-- Two guards make a mistake fail rather than fork the log: the head must still be at p_old_size, and
-- every queue row named must still be there (and match one entry line) to be deleted. After the write,
-- the function returns the oldest p_limit rows still queued (a new snapshot: rows committed meanwhile
-- included).
CREATE OR REPLACE FUNCTION audit_integrate_handed(
    p_old_size bigint, p_last_hash text, p_compact_range bytea, p_ids bigint[], p_handed_at timestamptz[],
    p_entries text, p_node_keys bigint[], p_node_hashes bytea, p_limit integer
) RETURNS TABLE (id bigint, created_at timestamptz, fields text)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
    v_queued integer := cardinality(p_ids);
    v_count integer := cardinality(p_ids) + cardinality(p_handed_at);
    v_written integer;
BEGIN
    UPDATE audit_audithead AS h
    SET size = p_old_size + v_count, last_hash = p_last_hash, compact_range = p_compact_range,
        updated_at = clock_timestamp()
    WHERE h.id = 1 AND h.size = p_old_size;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'audit head is no longer at size %; batch not written', p_old_size;
    END IF;
    WITH taken AS (
        DELETE FROM audit_auditpending AS q WHERE q.id = ANY (p_ids) RETURNING q.id, q.created_at
    ), stamps AS (
        SELECT i.ord, taken.created_at
        FROM unnest(p_ids) WITH ORDINALITY AS i(pending_id, ord) JOIN taken ON taken.id = i.pending_id
        UNION ALL
        SELECT v_queued + h.ord, h.created_at FROM unnest(p_handed_at) WITH ORDINALITY AS h(created_at, ord)
    ), lines AS (
        SELECT l.entry, l.ord, r.actor, r.action, r.target, r.request_id
        FROM string_to_table(p_entries, E'\n') WITH ORDINALITY AS l(entry, ord),
             json_to_record(l.entry::json) AS r(actor json, action text, target json, request_id text)
    )
    INSERT INTO audit_auditentry
        ("index", "timestamp", actor_type, actor_id, action, target_type, target_id, request_id, entry)
    SELECT p_old_size + lines.ord - 1, stamps.created_at, lines.actor->>'type', left(lines.actor->>'id', 64),
           lines.action, left(lines.target->>'type', 64), left(lines.target->>'id', 700),
           coalesce(lines.request_id, ''), lines.entry
    FROM lines JOIN stamps ON stamps.ord = lines.ord;
    GET DIAGNOSTICS v_written = ROW_COUNT;
    IF v_written <> v_count OR v_count <> cardinality(string_to_array(p_entries, E'\n')) THEN
        RAISE EXCEPTION 'audit queue rows already taken; batch not written';
    END IF;
    INSERT INTO audit_auditnode (key, hash)
    SELECT n.key, substring(p_node_hashes FROM (n.ord - 1)::integer * 32 + 1 FOR 32)
    FROM unnest(p_node_keys) WITH ORDINALITY AS n(key, ord);
    RETURN QUERY SELECT q.id, q.created_at, q.fields FROM audit_auditpending AS q ORDER BY q.id LIMIT p_limit;
END;
$$
