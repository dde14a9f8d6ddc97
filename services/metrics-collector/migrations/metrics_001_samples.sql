-- metrics-collector's state: raw samples as they arrived (one row each, the sample as JSON so
-- that top answers it as it was published) and the samples it refused. Both are kept for the
-- retention window only; downsampling into coarser rows is not done yet.
CREATE SCHEMA IF NOT EXISTS metrics;

CREATE TABLE metrics.sample (
  id bigserial PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('node', 'container', 'network')),
  -- node name for node and network samples, replica id for container samples
  key text NOT NULL,
  service text,
  at timestamptz NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  body jsonb NOT NULL
);
CREATE INDEX sample_latest ON metrics.sample (kind, key, at DESC);
CREATE INDEX sample_at ON metrics.sample (at);

CREATE TABLE metrics.refusal (
  id bigserial PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT now(),
  subject text NOT NULL,
  error jsonb NOT NULL
);
CREATE INDEX refusal_at ON metrics.refusal (at);
