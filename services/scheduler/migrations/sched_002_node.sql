-- Nodes an admin admitted (addNode). Capacity and labels come from the node-agents' reports; a
-- draining node gets no new replicas and its replicas get successors elsewhere, after which its row
-- goes (removeNode done).
CREATE TABLE sched.node (
  name        text PRIMARY KEY,
  state       text        NOT NULL CHECK (state IN ('ready', 'draining')),
  admitted_at timestamptz NOT NULL DEFAULT now()
);
