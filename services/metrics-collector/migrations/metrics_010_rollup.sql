-- Downsampled history: raw samples (metrics.sample) older than the raw window are rolled up into
-- one row per kind, key and time bucket, and deleted, by one statement (MetricsStore.rollup): a raw
-- row is deleted and counted in the same statement, so it is counted exactly once, also with
-- several collectors passing at once (a second DELETE of the same rows finds them gone) and with
-- samples arriving late for a bucket already rolled up (they are merged into its row).
CREATE TABLE metrics.rollup (
  kind text NOT NULL CHECK (kind IN ('node', 'container', 'network')),
  -- as in metrics.sample: node name for node and network samples, replica id for container samples
  key text NOT NULL,
  -- start of the bucket, aligned on the Unix epoch
  bucket timestamptz NOT NULL,
  -- the bucket's width when it was written (SDMI_METRICS_ROLLUP_BUCKET_MS)
  bucket_ms integer NOT NULL CHECK (bucket_ms > 0),
  service text,
  -- raw samples rolled into the row
  count integer NOT NULL CHECK (count > 0),
  -- { "<field>": { "avg": n, "min": n, "max": n } } over those samples; fields per kind are those of
  -- metrics.rollup_values below
  fields jsonb NOT NULL,
  PRIMARY KEY (kind, key, bucket)
);
CREATE INDEX rollup_bucket ON metrics.rollup (bucket);
CREATE INDEX rollup_service ON metrics.rollup (service, bucket) WHERE service IS NOT NULL;

-- The numbers of one raw sample that are kept in its rollup, by kind. Utilizations are derived here
-- (the limits are part of the same sample), so that their avg/min/max are over the ratios, not a
-- ratio of averages. Network samples are summed over their interfaces.
CREATE FUNCTION metrics.rollup_values(k text, b jsonb) RETURNS TABLE (field text, value double precision)
LANGUAGE sql IMMUTABLE AS $$
  SELECT v.f, v.x FROM (VALUES
    ('cpu.usageRatio', (b #>> '{cpu,usageRatio}')::float8),
    ('cpu.usedCores', (b #>> '{cpu,usageRatio}')::float8 * (b #>> '{cpu,cores}')::float8),
    ('load.one', (b #>> '{load,one}')::float8),
    ('load.five', (b #>> '{load,five}')::float8),
    ('load.fifteen', (b #>> '{load,fifteen}')::float8),
    ('memory.usedBytes', (b #>> '{memory,usedBytes}')::float8)
  ) AS v(f, x) WHERE k = 'node'
  UNION ALL
  SELECT v.f, v.x FROM (VALUES
    ('cpu.usedCores', (b #>> '{cpu,usedCores}')::float8),
    ('cpu.utilization', (b #>> '{cpu,usedCores}')::float8 / (b #>> '{cpu,limitCores}')::float8),
    ('memory.usedBytes', (b #>> '{memory,usedBytes}')::float8),
    ('memory.utilization', (b #>> '{memory,usedBytes}')::float8 / (b #>> '{memory,limitBytes}')::float8),
    ('network.rxBytes', (b #>> '{network,rxBytes}')::float8),
    ('network.txBytes', (b #>> '{network,txBytes}')::float8)
  ) AS v(f, x) WHERE k = 'container'
  UNION ALL
  SELECT v.f, v.x FROM (
    SELECT count(*)::float8 AS n,
      coalesce(sum((i ->> 'rxBytes')::float8), 0) AS rxb, coalesce(sum((i ->> 'txBytes')::float8), 0) AS txb,
      coalesce(sum((i ->> 'rxPackets')::float8), 0) AS rxp, coalesce(sum((i ->> 'txPackets')::float8), 0) AS txp,
      coalesce(sum((i ->> 'rxDropped')::float8), 0) AS rxd, coalesce(sum((i ->> 'txDropped')::float8), 0) AS txd
    FROM jsonb_array_elements(b -> 'interfaces') AS i
  ) s CROSS JOIN LATERAL (VALUES
    ('interfaces', s.n), ('rxBytes', s.rxb), ('txBytes', s.txb), ('rxPackets', s.rxp), ('txPackets', s.txp), ('rxDropped', s.rxd), ('txDropped', s.txd)
  ) AS v(f, x) WHERE k = 'network'
$$;

-- Two rollups of one bucket as one: averages weighted by their sample counts, min of the mins, max
-- of the maxes; a field only one side has is kept as it is.
CREATE FUNCTION metrics.merge_rollup(a jsonb, an bigint, b jsonb, bn bigint) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
  SELECT coalesce(jsonb_object_agg(k.f, CASE
      WHEN a ? k.f AND b ? k.f THEN jsonb_build_object(
        'avg', ((a -> k.f ->> 'avg')::float8 * an + (b -> k.f ->> 'avg')::float8 * bn) / (an + bn),
        'min', least((a -> k.f ->> 'min')::float8, (b -> k.f ->> 'min')::float8),
        'max', greatest((a -> k.f ->> 'max')::float8, (b -> k.f ->> 'max')::float8))
      WHEN a ? k.f THEN a -> k.f
      ELSE b -> k.f END), '{}'::jsonb)
  FROM (SELECT jsonb_object_keys(a) UNION SELECT jsonb_object_keys(b)) AS k(f)
$$;
