-- switch-agent's state: the switches it keeps (spec as registered), the VLANs it answers for on
-- each (managed: only these are ever removed), what it last brought about (applied: a fingerprint
-- of the spec and desired state), and the last sync and drift check, for listSwitches.
CREATE SCHEMA IF NOT EXISTS switch_agent;

CREATE TABLE switch_agent.switch (
  name       text PRIMARY KEY,
  spec       jsonb       NOT NULL,
  managed    int[]       NOT NULL DEFAULT '{}',
  applied    text,
  last_sync  jsonb,
  drift      jsonb,
  updated_at timestamptz NOT NULL DEFAULT now()
);
