// The Prometheus text format's pure parts: escaping, values, rendering, the listen setting.
import { describe, expect, it } from 'vitest';
import { loadMetricsConfig, parseListen } from '../src/config';
import { escapeHelp, escapeLabelValue, families, formatValue, render, serviceOfReplica } from '../src/prometheus';

describe('escapeLabelValue', () => {
  it('escapes backslash, double quote and line feed, and nothing else', () => {
    expect(escapeLabelValue('plain-value_1.2')).toBe('plain-value_1.2');
    expect(escapeLabelValue('a\\b')).toBe('a\\\\b');
    expect(escapeLabelValue('say "hi"')).toBe('say \\"hi\\"');
    expect(escapeLabelValue('two\nlines')).toBe('two\\nlines');
    // the backslash first: an escaped quote is not escaped again
    expect(escapeLabelValue('\\"\n')).toBe('\\\\\\"\\n');
    expect(escapeLabelValue("tab\there 'single' ünï")).toBe("tab\there 'single' ünï");
  });

  it('leaves double quotes alone in HELP text', () => {
    expect(escapeHelp('a "b" \\ c\nd')).toBe('a "b" \\\\ c\\nd');
  });
});

describe('formatValue', () => {
  it('spells the non-finite values as the format does', () => {
    expect([NaN, Infinity, -Infinity, 0, 1.5, -2, 1e21].map(formatValue)).toEqual(['NaN', '+Inf', '-Inf', '0', '1.5', '-2', '1e+21']);
  });
});

describe('render', () => {
  it('writes HELP, TYPE and samples with sorted, escaped labels; leaves empty families out', () => {
    const text = render([
      { name: 'x_total', help: 'Things "counted"\nhere.', type: 'counter', samples: [{ labels: { z: '1', a: 'q"\\' }, value: 3 }] },
      { name: 'empty', help: 'none', type: 'gauge', samples: [] },
      { name: 'y', help: 'A gauge.', type: 'gauge', samples: [{ labels: {}, value: 0.25 }] },
    ]);
    expect(text).toBe('# HELP x_total Things "counted"\\nhere.\n# TYPE x_total counter\nx_total{a="q\\"\\\\",z="1"} 3\n# HELP y A gauge.\n# TYPE y gauge\ny 0.25\n');
  });

  it('refuses invalid metric and label names and a family twice', () => {
    expect(() => render([{ name: '1bad', help: '', type: 'gauge', samples: [] }])).toThrow(/metric name/);
    expect(() => render([{ name: 'ok', help: '', type: 'gauge', samples: [{ labels: { 'a-b': 'x' }, value: 1 }] }])).toThrow(/label name/);
    expect(() => render([{ name: 'ok', help: '', type: 'gauge', samples: [{ labels: { __name__: 'x' }, value: 1 }] }])).toThrow(/label name/);
    expect(() => render([{ name: 'ok', help: '', type: 'gauge', samples: [] }, { name: 'ok', help: '', type: 'gauge', samples: [] }])).toThrow(/twice/);
  });

  it('gives the collector counters even without samples', () => {
    const text = render(families({ nodes: [], replicas: [], networks: [] }, { stored: 5, refused: 1, dropped: 2, failed: 0, inflight: 0 }));
    expect(text).toContain('sdmi_metrics_collector_samples_stored_total 5\n');
    expect(text).toContain('sdmi_metrics_collector_samples_dropped_total 2\n');
    expect(text).not.toContain('sdmi_node_');
  });
});

describe('serviceOfReplica', () => {
  it('strips the slot, revision and instance number', () => {
    expect(serviceOfReplica('acme/web-3@rev12')).toBe('acme/web');
    expect(serviceOfReplica('acme/web-api-10@rev2#4')).toBe('acme/web-api');
  });
});

describe('settings', () => {
  it('parses host:port and [v6]:port, refuses the rest', () => {
    expect(parseListen('X', '127.0.0.1:9464')).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(parseListen('X', '[::1]:0')).toEqual({ host: '::1', port: 0 });
    expect(parseListen('X', 'localhost:80')).toEqual({ host: 'localhost', port: 80 });
    for (const bad of ['9464', '127.0.0.1', ':9464', '127.0.0.1:65536', '::1:80', 'a b:1']) expect(() => parseListen('X', bad), bad).toThrow(/X=/);
  });

  it('defaults: raw 1 h, buckets 1 min, rollups 7 days, 1000 in flight, no endpoint', () => {
    expect(loadMetricsConfig({})).toMatchObject({ rawMs: 3_600_000, rollupBucketMs: 60_000, retentionMs: 604_800_000, maxInflight: 1_000, prometheus: null });
  });

  it('refuses a retention shorter than the raw window', () => {
    expect(() => loadMetricsConfig({ SDMI_METRICS_RAW_MS: '7200000', SDMI_METRICS_RETENTION_MS: '3600000' })).toThrow(/shorter than SDMI_METRICS_RAW_MS/);
    expect(() => loadMetricsConfig({ SDMI_METRICS_MAX_INFLIGHT: '0' })).toThrow(/whole samples/);
  });
});
