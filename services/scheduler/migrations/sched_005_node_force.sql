-- removeNode with force: the node drains anyway, and a replica no other node can take is stopped
-- instead of kept (the planner needs to know which drains were forced).
ALTER TABLE sched.node ADD COLUMN force boolean NOT NULL DEFAULT false;
