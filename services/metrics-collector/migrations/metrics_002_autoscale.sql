-- The autoscaler's resources and what it remembers between evaluations. A policy's `state` is the
-- pure Autoscaler's state (recommendations within the stabilisation window, recent changes for
-- the rate policies): kept here so that a restarted or failed-over collector neither forgets a
-- window (and scales down early) nor a change (and breaks a rate policy).
CREATE TABLE metrics.autoscale_policy (
  service text PRIMARY KEY,
  policy jsonb NOT NULL,
  state jsonb,
  last_decision jsonb,
  last_error text,
  evaluated_at timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE metrics.threshold (
  service text NOT NULL,
  name text NOT NULL,
  threshold jsonb NOT NULL,
  phase text NOT NULL DEFAULT 'ok' CHECK (phase IN ('ok', 'pending', 'raised', 'clearing')),
  since timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (service, name)
);

-- The autoscaler reads the newest container sample per replica of a service.
CREATE INDEX sample_service_latest ON metrics.sample (service, key, at DESC) WHERE kind = 'container';
