-- ``registry_lineage_ingest(plan jsonb)``: a whole OpenLineage event in one call on PostgreSQL.
--
-- ``registry.services.lineage_postgres`` builds the plan; this applies it as
-- ``registry.services.lineage._ingest_rows`` does row by row on SQLite:
--
-- 1. the raw event, unless the same body is stored already (then its id and ``false``, nothing else);
-- 2. the job, the datasets and the dataset versions by their natural keys, new with the facets sent,
--    existing with them merged in (``||``: facets sent now replace those of the same name; others
--    stay), rewritten only when that changes them; in key order, so concurrent events lock shared
--    rows in the same order;
-- 3. the run: created, or advanced as events may arrive out of order (a late START or RUNNING never
--    overwrites a terminal state; OTHER never changes it; the earliest START and latest end win);
-- 4. each input sent without a version bound (registry.openlineage.plan): to the version this run
--    read before, else to the dataset's newest version at the event's time that this run did not
--    write, else to the dataset's "unknown" marker version (created if need be);
-- 5. the edges and the run's input and output links (the bound ones too), skipping those that exist;
-- 6. the audit queue row, its target id set to the new event's id, through audit's ``audit_enqueue``;
--    the caller sequences it after commit.
--
-- A VOLATILE PL/pgSQL function takes a fresh snapshot per statement, so each step sees the rows the
-- steps before it wrote. Rows are looked up by their keys through LATERAL subqueries with LIMIT 1
-- (which the planner cannot flatten into a join): a join with the event's few rows, which the planner
-- guesses at 100, could otherwise be planned as a hash join over the whole table.
CREATE OR REPLACE FUNCTION registry_lineage_ingest(p jsonb, OUT o_event_id bigint, OUT o_created boolean)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_now timestamptz := (p->>'now')::timestamptz;
    v_user bigint := (p->>'user')::bigint;
    v_at timestamptz := (p->>'event_time')::timestamptz;
    v_edges jsonb := p->'edges';
    v_links jsonb := p->'links';
    v_dataset bigint;
    v_version text;
    v_node text;
    b record;
    v_job bigint;
    v_run bigint;
    v_type text;
    v_time timestamptz;
    v_terminal boolean;
    r record;
    n_state text;
    n_started timestamptz;
    n_ended timestamptz;
    n_facets jsonb;
BEGIN
    INSERT INTO registry_lineageevent
        (kind, event_type, event_time, run_id, body, body_sha256, received_by_id, received_at)
    VALUES (p#>>'{event,kind}', p#>>'{event,event_type}', (p#>>'{event,event_time}')::timestamptz,
            (p#>>'{event,run_id}')::uuid, p#>'{event,body}', p#>>'{event,body_sha256}', v_user, v_now)
    ON CONFLICT (body_sha256) DO NOTHING
    RETURNING id INTO o_event_id;
    IF o_event_id IS NULL THEN
        SELECT e.id INTO o_event_id FROM registry_lineageevent e WHERE e.body_sha256 = p#>>'{event,body_sha256}';
        o_created := false;
        RETURN;
    END IF;
    o_created := true;

    IF jsonb_typeof(p->'job') = 'object' THEN
        INSERT INTO registry_job AS t (namespace, name, facets, created_at)
        VALUES (p#>>'{job,namespace}', p#>>'{job,name}', p#>'{job,facets}', v_now)
        ON CONFLICT (namespace, name) DO UPDATE SET facets = t.facets || EXCLUDED.facets
            WHERE t.facets || EXCLUDED.facets IS DISTINCT FROM t.facets
        RETURNING id INTO v_job;
        IF v_job IS NULL THEN
            SELECT j.id INTO v_job FROM registry_job j
            WHERE j.namespace = p#>>'{job,namespace}' AND j.name = p#>>'{job,name}';
        END IF;
    END IF;

    IF jsonb_typeof(p->'run') = 'object' THEN
        v_type := p#>>'{run,event_type}';
        v_time := (p#>>'{run,event_time}')::timestamptz;
        v_terminal := v_type IN ('COMPLETE', 'FAIL', 'ABORT');
        INSERT INTO registry_trainingrun
            (run_id, job_id, state, started_at, ended_at, parameters, metrics, code_version, environment,
             facets, started_by_id, created_at)
        VALUES ((p#>>'{run,run_id}')::uuid, v_job, v_type,
                CASE WHEN v_type = 'START' THEN v_time END, CASE WHEN v_terminal THEN v_time END,
                '{}', '{}', '', '{}', p#>'{run,facets}', v_user, v_now)
        ON CONFLICT (run_id) DO NOTHING
        RETURNING id INTO v_run;
        IF v_run IS NULL THEN
            SELECT t.id, t.job_id, t.state, t.started_at, t.ended_at, t.facets INTO r
            FROM registry_trainingrun t WHERE t.run_id = (p#>>'{run,run_id}')::uuid FOR UPDATE;
            v_run := r.id;
            n_state := r.state;
            IF v_type <> 'OTHER' AND (r.state NOT IN ('COMPLETE', 'FAIL', 'ABORT') OR v_terminal) THEN
                n_state := v_type;
            END IF;
            n_started := r.started_at;
            IF v_type = 'START' AND (r.started_at IS NULL OR v_time < r.started_at) THEN
                n_started := v_time;
            END IF;
            n_ended := r.ended_at;
            IF v_terminal AND (r.ended_at IS NULL OR v_time > r.ended_at) THEN
                n_ended := v_time;
            END IF;
            n_facets := r.facets || (p#>'{run,facets}');
            IF (n_state, n_started, n_ended, COALESCE(r.job_id, v_job), n_facets)
                IS DISTINCT FROM (r.state, r.started_at, r.ended_at, r.job_id, r.facets) THEN
                UPDATE registry_trainingrun SET state = n_state, started_at = n_started, ended_at = n_ended,
                    job_id = COALESCE(r.job_id, v_job), facets = n_facets
                WHERE id = r.id;
            END IF;
        END IF;
    END IF;

    INSERT INTO registry_dataset AS t
        (namespace, name, description, holds_personal_data, subject_id_column, jurisdictions,
         data_categories, special_categories, purposes, facets, created_at)
    SELECT d.namespace, d.name, '', false, '', '[]', '[]', false, '[]', d.facets, v_now
    FROM jsonb_to_recordset(p->'datasets') AS d(namespace text, name text, facets jsonb)
    ORDER BY d.namespace COLLATE "C", d.name COLLATE "C"
    ON CONFLICT (namespace, name) DO UPDATE SET facets = t.facets || EXCLUDED.facets
        WHERE t.facets || EXCLUDED.facets IS DISTINCT FROM t.facets;

    IF v_run IS NOT NULL THEN
        FOR b IN SELECT x.namespace, x.name FROM jsonb_to_recordset(p->'bind') AS x(namespace text, name text)
        LOOP
            SELECT d.id INTO v_dataset FROM registry_dataset d WHERE d.namespace = b.namespace AND d.name = b.name;
            v_version := NULL;
            SELECT y.version INTO v_version
            FROM registry_trainingrun_inputs i JOIN registry_datasetversion y ON y.id = i.datasetversion_id
            WHERE i.trainingrun_id = v_run AND y.dataset_id = v_dataset ORDER BY y.id LIMIT 1;
            IF v_version IS NULL THEN
                SELECT y.version INTO v_version FROM registry_datasetversion y
                WHERE y.dataset_id = v_dataset AND NOT y.unknown AND COALESCE(y.event_time, y.created_at) <= v_at
                  AND NOT EXISTS (SELECT 1 FROM registry_trainingrun_outputs o
                                  WHERE o.datasetversion_id = y.id AND o.trainingrun_id = v_run)
                ORDER BY COALESCE(y.event_time, y.created_at) DESC, y.id DESC LIMIT 1;
            END IF;
            IF v_version IS NULL THEN
                v_version := 'unknown';
                INSERT INTO registry_datasetversion
                    (dataset_id, version, sha256, uri, storage_name, file_format, schema, facets,
                     created_by_id, created_at, event_time, unknown)
                VALUES (v_dataset, v_version, '', '', '', '', '[]', '{}', v_user, v_now, NULL, true)
                ON CONFLICT (dataset_id, version) DO NOTHING;
            END IF;
            v_node := 'dataset:' || b.namespace || ':' || b.name || '#' || v_version;
            v_edges := v_edges || jsonb_build_array(
                jsonb_build_array('dataset:' || b.namespace || ':' || b.name, v_node, 'version_of'),
                jsonb_build_array(v_node, 'run:' || (p#>>'{run,run_id}'), 'used_by'));
            v_links := v_links || jsonb_build_array(jsonb_build_object(
                'side', 'input', 'namespace', b.namespace, 'name', b.name, 'version', v_version));
        END LOOP;
    END IF;

    INSERT INTO registry_datasetversion AS t
        (dataset_id, version, sha256, uri, storage_name, file_format, schema, facets, created_by_id,
         created_at, event_time, unknown)
    SELECT d.id, v.version, '', '', '', '', '[]', v.facets, v_user, v_now, v_at, false
    FROM jsonb_to_recordset(p->'versions') AS v(namespace text, name text, version text, facets jsonb)
    CROSS JOIN LATERAL (
        SELECT x.id FROM registry_dataset x WHERE x.namespace = v.namespace AND x.name = v.name LIMIT 1
    ) d
    ORDER BY v.namespace COLLATE "C", v.name COLLATE "C", v.version COLLATE "C"
    ON CONFLICT (dataset_id, version) DO UPDATE SET facets = t.facets || EXCLUDED.facets
        WHERE t.facets || EXCLUDED.facets IS DISTINCT FROM t.facets;

    INSERT INTO registry_lineageedge (source, target, relation, created_at)
    SELECT e.value->>0, e.value->>1, e.value->>2, v_now
    FROM jsonb_array_elements(v_edges) AS e(value)
    ORDER BY (e.value->>0) COLLATE "C", (e.value->>1) COLLATE "C", (e.value->>2) COLLATE "C"
    ON CONFLICT (source, target, relation) DO NOTHING;

    IF v_run IS NOT NULL THEN
        WITH linked AS (
            SELECT l.side, dv.id
            FROM jsonb_to_recordset(v_links) AS l(side text, namespace text, name text, version text)
            CROSS JOIN LATERAL (
                SELECT y.id FROM registry_datasetversion y JOIN registry_dataset x ON x.id = y.dataset_id
                WHERE x.namespace = l.namespace AND x.name = l.name AND y.version = l.version
                LIMIT 1
            ) dv
        ), read AS (
            INSERT INTO registry_trainingrun_inputs (trainingrun_id, datasetversion_id)
            SELECT v_run, linked.id FROM linked WHERE linked.side = 'input'
            ON CONFLICT (trainingrun_id, datasetversion_id) DO NOTHING
        )
        INSERT INTO registry_trainingrun_outputs (trainingrun_id, datasetversion_id)
        SELECT v_run, linked.id FROM linked WHERE linked.side = 'output'
        ON CONFLICT (trainingrun_id, datasetversion_id) DO NOTHING;
    END IF;

    -- Only audit writes audit tables: its audit_enqueue queues the row (audit/sql/audit_enqueue.sql).
    PERFORM audit_enqueue(v_now, jsonb_set(p->'audit', '{target,id}', to_jsonb(o_event_id::text))::text);
END;
$$
