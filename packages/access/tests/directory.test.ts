// principals.json as the gateways read it (pure, on files of the test's own).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { nkeys } from '@nats-io/nats-core';
import { PrincipalDirectory, PrincipalsFileError } from '../src/index';

const dir = mkdtempSync(join(tmpdir(), 'sdmi-principals-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const key = () => nkeys.createUser().getPublicKey();
function file(content: unknown): string {
  const f = join(dir, `${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(f, typeof content === 'string' ? content : JSON.stringify(content));
  return f;
}

describe('PrincipalDirectory', () => {
  it('maps keys to principal ids and gives the builtin bindings', () => {
    const [a, s, n, u] = [key(), key(), key(), key()];
    const d = PrincipalDirectory.load(file([
      { name: 'admin', kind: 'user', publicKey: a, role: 'cluster-admin', seedFile: '/x/admin.nk' },
      { name: 'scheduler', kind: 'service', publicKey: s, role: 'system' },
      { name: 'node-agent-Host-A', kind: 'node-agent', node: 'Host-A', publicKey: n, role: 'system' },
      { name: 'alice', kind: 'user', publicKey: u },
    ]));
    expect(d.principalOf(a)).toEqual({ id: 'user:admin' });
    expect(d.principalOf(n)).toEqual({ id: 'service:node-agent-host-a' });
    expect(d.principalOf(key())).toBeUndefined();
    expect(d.builtinBindings()).toEqual([
      { version: 1, name: 'builtin-admin', principal: 'user:admin', role: 'cluster-admin' },
      { version: 1, name: 'builtin-scheduler', principal: 'service:scheduler', role: 'system' },
      { version: 1, name: 'builtin-node-agent-host-a', principal: 'service:node-agent-host-a', role: 'system' },
    ]);
  });

  it('refuses a file it cannot trust to mean one thing, naming the file and the entry', () => {
    const k = key();
    const cases: [unknown, RegExp][] = [
      ['{not json', /is not JSON/],
      [{ name: 'x' }, /must hold a JSON array/],
      [[{ name: 'a b', kind: 'user', publicKey: k }], /entry 0: name must match/],
      [[{ name: 'a', kind: 'robot', publicKey: k }], /entry 0 \(a\): kind must be/],
      [[{ name: 'a', kind: 'user', publicKey: 'SUABC' }], /publicKey is not an nkey user public key/],
      [[{ name: 'a', kind: 'user', publicKey: k, role: 'root' }], /role root is not one of/],
      [[{ name: 'a', kind: 'user', publicKey: k, role: 'system' }], /role system is for services/],
      [[{ name: 'a', kind: 'user', publicKey: k }, { name: 'A', kind: 'user', publicKey: key() }], /user:a is listed twice/],
      [[{ name: 'a', kind: 'user', publicKey: k }, { name: 'b', kind: 'user', publicKey: k }], /two principals share one public key/],
    ];
    for (const [content, message] of cases) {
      const f = file(content);
      expect(() => PrincipalDirectory.load(f)).toThrow(PrincipalsFileError);
      expect(() => PrincipalDirectory.load(f)).toThrow(message);
      expect(() => PrincipalDirectory.load(f)).toThrow(f);
    }
    expect(() => PrincipalDirectory.load(join(dir, 'missing.json'))).toThrow(/cannot be read \(ENOENT\)/);
  });
});
