-- Cluster-wide IPAM (IPv4). Addresses are stored as bigint (0 .. 2^32-1) so range math is plain
-- arithmetic; the network keeps its CIDR and gateway in PostgreSQL's own types for readability.
-- Concurrency safety rests on the constraints below: no two allocations of one network share an
-- address (primary key) and no interface holds two addresses on one network (unique).
CREATE SCHEMA IF NOT EXISTS ipam;

CREATE TABLE ipam.network (
  id         text PRIMARY KEY CHECK (id <> ''),
  cidr       cidr NOT NULL CHECK (family(cidr) = 4),
  gateway    inet NOT NULL CHECK (family(gateway) = 4 AND gateway << cidr),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Allocation pools of a network, in the order dynamic allocation walks them.
CREATE TABLE ipam.pool (
  network_id    text   NOT NULL REFERENCES ipam.network (id) ON DELETE CASCADE,
  ord           int    NOT NULL CHECK (ord >= 0),
  first_address bigint NOT NULL CHECK (first_address BETWEEN 0 AND 4294967295),
  last_address  bigint NOT NULL CHECK (last_address BETWEEN 0 AND 4294967295),
  PRIMARY KEY (network_id, ord),
  CHECK (first_address <= last_address)
);

-- No ON DELETE CASCADE: a network that still has allocations cannot be dropped by accident.
CREATE TABLE ipam.allocation (
  network_id   text        NOT NULL REFERENCES ipam.network (id),
  address      bigint      NOT NULL CHECK (address BETWEEN 0 AND 4294967295),
  interface_id text        NOT NULL CHECK (interface_id <> ''),
  mode         text        NOT NULL CHECK (mode IN ('dynamic', 'static')),
  allocated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (network_id, address),
  UNIQUE (network_id, interface_id)
);

CREATE INDEX allocation_interface_idx ON ipam.allocation (interface_id);
