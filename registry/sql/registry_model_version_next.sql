-- ``registry_model_version_next(model bigint)``: lock a model's row and give its name, when it was
-- archived, and its next version number, in one round trip (``registry.services.model_versions``).
--
-- The row lock serialises concurrent registrations of one model; the maximum is read in a statement of
-- its own after the lock is held (a VOLATILE PL/pgSQL function takes a fresh snapshot per statement),
-- so it counts the version the previous holder committed: 1, 2, 3... with no gap or duplicate. No row
-- (the model is gone): every out value is null.
CREATE OR REPLACE FUNCTION registry_model_version_next(
    p_model bigint, OUT o_name text, OUT o_archived_at timestamptz, OUT o_next integer
)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    SELECT m.name, m.archived_at INTO o_name, o_archived_at
    FROM registry_registeredmodel m WHERE m.id = p_model FOR UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    SELECT COALESCE(MAX(v.version), 0) + 1 INTO o_next FROM registry_modelversion v WHERE v.model_id = p_model;
END;
$$
