-- The scheduler's desired state (services, with their revision history) and what it has placed
-- (replicas). A replica row exists from the moment a plan places it (pending) until its stop
-- transaction has removed everything of it, so that no plan places the same replica twice.
CREATE SCHEMA IF NOT EXISTS sched;

CREATE TABLE sched.service (
  id         text PRIMARY KEY,
  record     jsonb       NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE sched.replica (
  id         text PRIMARY KEY,
  service    text        NOT NULL,
  slot       int         NOT NULL CHECK (slot >= 1),
  revision   int         NOT NULL CHECK (revision >= 1),
  node       text        NOT NULL,
  state      text        NOT NULL CHECK (state IN ('pending', 'starting', 'running', 'healthy', 'unhealthy', 'stopping', 'stopped', 'failed')),
  since      timestamptz NOT NULL DEFAULT now(),
  created_at timestamptz NOT NULL DEFAULT now(),
  resources  jsonb       NOT NULL,
  -- The interface ids its start transaction allocated: what its stop transaction releases.
  interfaces jsonb       NOT NULL DEFAULT '[]',
  reason     text
);
CREATE INDEX replica_service_idx ON sched.replica (service);
