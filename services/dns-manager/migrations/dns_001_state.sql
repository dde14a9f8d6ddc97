-- dns-manager's state. What it publishes is computed from the scheduler's and the
-- network-controller's answers; only what they cannot say lives here: the interfaces of replicas
-- whose start transaction registered them before the scheduler records them (registration), the
-- user's own record sets (custom), and what the last pass put into PowerDNS (published, pass).
CREATE SCHEMA IF NOT EXISTS dns;

CREATE TABLE dns.registration (
  replica_id    text PRIMARY KEY,
  service       text        NOT NULL,
  interfaces    jsonb       NOT NULL,
  registered_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE dns.custom (
  zone       text        NOT NULL,
  name       text        NOT NULL,
  type       text        NOT NULL,
  ttl        int         NOT NULL CHECK (ttl BETWEEN 1 AND 86400),
  records    jsonb       NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (zone, name, type)
);

-- Replaced as a whole by every pass that reached PowerDNS.
CREATE TABLE dns.published (
  replica_id text PRIMARY KEY,
  names      jsonb NOT NULL
);

CREATE TABLE dns.pass (
  id      int PRIMARY KEY CHECK (id = 1),
  at      timestamptz NOT NULL,
  ok      boolean     NOT NULL,
  detail  text        NOT NULL,
  changes int         NOT NULL
);
