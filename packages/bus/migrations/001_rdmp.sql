-- RDMP state. The exactly-once effect of a task lives here, next to the state it changes:
-- a task's row becomes terminal in the same transaction as its effect.
CREATE SCHEMA IF NOT EXISTS rdmp;

CREATE TABLE rdmp.task (
  id           uuid        NOT NULL,
  -- '' for a queued task; the executing instance's id for a broadcast task (one row each).
  endpoint     text        NOT NULL DEFAULT '',
  service      text        NOT NULL,
  kind         text        NOT NULL,
  key          text        NOT NULL,
  seq          bigint      NOT NULL,
  task         jsonb       NOT NULL,
  status       text        NOT NULL CHECK (status IN ('pending', 'executing', 'completed', 'failed')),
  -- forward: steps are being done; compensating: done steps are being undone after a failure.
  phase        text        NOT NULL DEFAULT 'forward' CHECK (phase IN ('forward', 'compensating')),
  revision     bigint,
  result       jsonb,
  error        jsonb,
  received_at  timestamptz NOT NULL DEFAULT now(),
  finished_at  timestamptz,
  PRIMARY KEY (id, endpoint)
);
-- Start-up recovery looks for the open transactions of one service endpoint.
CREATE INDEX task_open ON rdmp.task (service, endpoint) WHERE status = 'executing';
CREATE INDEX task_key ON rdmp.task (key, seq);

CREATE TABLE rdmp.task_step (
  task_id   uuid    NOT NULL,
  endpoint  text    NOT NULL,
  idx       integer NOT NULL,
  name      text    NOT NULL,
  state     text    NOT NULL CHECK (state IN ('pending', 'doing', 'done', 'undoing', 'undone')),
  output    jsonb,
  error     jsonb,
  PRIMARY KEY (task_id, endpoint, idx),
  FOREIGN KEY (task_id, endpoint) REFERENCES rdmp.task (id, endpoint) ON DELETE CASCADE
);

-- Optimistic concurrency: every completed task increments its resource's revision.
CREATE TABLE rdmp.resource (
  key       text   PRIMARY KEY,
  revision  bigint NOT NULL DEFAULT 0
);
