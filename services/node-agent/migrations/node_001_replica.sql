-- What each node-agent has been asked to run: the replica's container and its interfaces. It is the
-- desired state the agent reconciles its host to after a restart of the container, dockerd, OVS or
-- the agent itself (a restarted container has a new network namespace and has lost its interfaces).
CREATE SCHEMA IF NOT EXISTS node_agent;

CREATE TABLE node_agent.replica (
  node         text        NOT NULL,
  replica_id   text        NOT NULL,
  service      text        NOT NULL,
  revision     int         NOT NULL CHECK (revision >= 1),
  container_id text        NOT NULL,
  spec         jsonb       NOT NULL,
  updated_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (node, replica_id)
);
