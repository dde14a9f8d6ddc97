-- What the scheduler last told the network-controller about each service address: its address and
-- the interfaces taking new connections. It is the "already said" cache of the level-triggered
-- sync and what queries report; `generation` numbers the calls so each change is its own task.
CREATE TABLE sched.service_address (
  service    text    NOT NULL,
  network_id text    NOT NULL,
  address    inet,
  backends   text[]  NOT NULL DEFAULT '{}',
  generation bigint  NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (service, network_id)
);
