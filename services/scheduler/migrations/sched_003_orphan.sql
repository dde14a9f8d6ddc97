-- Containers that may still exist on a node that could not be reached when their replica was
-- undone or stopped: the loop removes them once the node answers again.
CREATE TABLE sched.orphan (
  replica_id  text        NOT NULL,
  incarnation text        NOT NULL,
  node        text        NOT NULL,
  since       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (replica_id, incarnation)
);
