-- Network resources. One row of net.state holds the revision (bumped by every mutating
-- transaction, announced with pg_notify('sdmi_net_changed')) and the next network and interface
-- numbers: counters rather than sequences, so that a rolled-back transaction gives its numbers
-- back while committed numbers still only ever grow (never reused: flow cookies carry them).
CREATE SCHEMA IF NOT EXISTS net;

CREATE TABLE net.state (
  singleton          boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  revision           bigint  NOT NULL DEFAULT 0,
  next_network_num   integer NOT NULL DEFAULT 1,
  next_interface_num bigint  NOT NULL DEFAULT 1
);
INSERT INTO net.state DEFAULT VALUES;

CREATE TABLE net.tenant_config (
  tenant     text PRIMARY KEY CHECK (tenant <> 'cluster'),
  spec       jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE net.network (
  id          text PRIMARY KEY,
  kind        text NOT NULL CHECK (kind IN ('cluster', 'tenant')),
  tenant      text,
  name        text NOT NULL,
  spec        jsonb NOT NULL,
  cidr        cidr NOT NULL CHECK (family(cidr) = 4),
  gateway     inet NOT NULL CHECK (gateway << cidr),
  parent      text REFERENCES net.network (id),
  vlan        integer CHECK (vlan BETWEEN 1 AND 4094),
  vni         integer CHECK (vni BETWEEN 1 AND 16777215),
  host_device text,
  num         integer NOT NULL UNIQUE CHECK (num BETWEEN 1 AND 65535),
  gateway_mac macaddr NOT NULL UNIQUE,
  created_by  text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  CHECK ((kind = 'cluster') = (tenant IS NULL)),
  CHECK (id = coalesce(tenant, 'cluster') || '/' || name)
);
-- One L2 segment per (device, id): the application checks first to give a clear error; these
-- make a race between two writers impossible all the same.
CREATE UNIQUE INDEX network_vlan_idx ON net.network (coalesce(host_device, ''), vlan) WHERE vlan IS NOT NULL;
CREATE UNIQUE INDEX network_vni_idx ON net.network (coalesce(host_device, ''), vni) WHERE vni IS NOT NULL;

CREATE TABLE net.dependency (
  network_id text NOT NULL REFERENCES net.network (id) ON DELETE CASCADE,
  depends_on text NOT NULL REFERENCES net.network (id),
  PRIMARY KEY (network_id, depends_on),
  CHECK (network_id <> depends_on)
);
CREATE INDEX dependency_target_idx ON net.dependency (depends_on);

CREATE TABLE net.host (
  name          text PRIMARY KEY,
  dpid          text NOT NULL UNIQUE CHECK (dpid ~ '^[0-9a-f]{16}$'),
  uplink_port   text NOT NULL,
  registered_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE net.interface (
  id         text PRIMARY KEY,
  network_id text NOT NULL REFERENCES net.network (id),
  host       text NOT NULL REFERENCES net.host (name),
  port_name  text NOT NULL,
  mac        macaddr NOT NULL UNIQUE,
  ip         inet,
  num        bigint NOT NULL UNIQUE CHECK (num BETWEEN 1 AND 4294967295),
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (host, port_name)
);
CREATE INDEX interface_network_idx ON net.interface (network_id);
