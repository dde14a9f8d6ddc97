-- Role bindings (resources of the bus, written by putRoleBinding/deleteRoleBinding in the task's
-- transaction) and the audit log of every gateway's admission decisions.
CREATE SCHEMA IF NOT EXISTS access;

CREATE TABLE access.role_binding (
  name       text        PRIMARY KEY,
  principal  text        NOT NULL,
  role       text        NOT NULL,
  tenant     text,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX role_binding_principal ON access.role_binding (principal);

CREATE TABLE access.audit (
  seq        bigserial   PRIMARY KEY,
  at         timestamptz NOT NULL DEFAULT now(),
  task_id    uuid        NOT NULL,
  service    text        NOT NULL,
  kind       text        NOT NULL,
  key        text        NOT NULL,
  principal  text        NOT NULL,
  tenants    text[]      NOT NULL DEFAULT '{}',
  accepted   boolean     NOT NULL,
  error      jsonb
);
CREATE INDEX audit_principal ON access.audit (principal, seq);
CREATE INDEX audit_task ON access.audit (task_id);

-- Append-only for everyone, the services' own role included (in tests and small set-ups that role
-- is the database's owner or a superuser, which no REVOKE binds; a trigger binds them too). Only
-- an operator who drops the trigger can change history, and that is itself visible in the schema.
CREATE FUNCTION access.audit_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'access.audit is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON access.audit
  FOR EACH ROW EXECUTE FUNCTION access.audit_is_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON access.audit
  FOR EACH STATEMENT EXECUTE FUNCTION access.audit_is_append_only();
REVOKE UPDATE, DELETE, TRUNCATE ON access.audit FROM PUBLIC;
