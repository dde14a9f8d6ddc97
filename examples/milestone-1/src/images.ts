import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildDebianImage, docker, imageExists, mainDocker } from '@sdmi/testbed';
import type { DockerEndpoint } from '@sdmi/testbed';

/**
 * Debian packages of the one base all three images share: one debootstrap (minutes, once per
 * machine, cached under /var/cache/sdmi/debootstrap), one import per daemon. Changing this list
 * needs a new BASE_TAG, since an existing tag is taken as built.
 */
export const BASE_PACKAGES = ['curl', 'nginx', 'openssl', 'postgresql-15', 'procps', 'python3-psycopg2'] as const;

export const IMAGE_TAGS = {
  base: 'sdmi/m1-base:1',
  db: 'sdmi/m1-db:1',
  app: 'sdmi/m1-app:1',
  lb: 'sdmi/m1-lb:1',
} as const;

export interface ExampleImages {
  readonly db: string;
  readonly app: string;
  readonly lb: string;
}

/** Label holding the digest of what an image was built from, so a changed script rebuilds it. */
export const CONTEXT_LABEL = 'sdmi.m1.context';

const IMAGES_DIR = fileURLToPath(new URL('../images/', import.meta.url));

function filesOf(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .flatMap((e) => (e.isDirectory() ? filesOf(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`]));
}

/** Digest of a build context (names, exec bits, contents) and the base it builds on. */
function contextDigest(dir: string, baseId: string): string {
  const h = createHash('sha256').update(`base ${baseId}\n`);
  for (const f of filesOf(dir)) {
    const path = join(dir, f);
    h.update(`${f} ${statSync(path).mode & 0o111 ? 'x' : '-'} `).update(readFileSync(path)).update('\n');
  }
  return h.digest('hex');
}

async function label(endpoint: DockerEndpoint, tag: string): Promise<string | undefined> {
  if (!(await imageExists(endpoint, tag))) return undefined;
  const out = await docker(endpoint, ['image', 'inspect', '--format', `{{index .Config.Labels "${CONTEXT_LABEL}"}}`, tag]);
  return out.trim();
}

async function buildLayer(endpoint: DockerEndpoint, name: 'db' | 'app' | 'lb', baseId: string): Promise<string> {
  const tag = IMAGE_TAGS[name];
  const dir = join(IMAGES_DIR, name);
  const digest = contextDigest(dir, baseId);
  if ((await label(endpoint, tag)) === digest) return tag;
  // No network in the build: everything comes from the base or the context.
  await docker(
    endpoint,
    ['build', '--quiet', '--network', 'none', '--build-arg', `BASE=${IMAGE_TAGS.base}`, '--label', `${CONTEXT_LABEL}=${digest}`, '--tag', tag, dir],
    { timeoutMs: 600_000 },
  );
  return tag;
}

/**
 * Builds (or finds) the example's three images on a daemon: `sdmi/m1-db:1`, `sdmi/m1-app:1`,
 * `sdmi/m1-lb:1`, each a thin layer of our scripts over `sdmi/m1-base:1` (bookworm minbase with
 * {@link BASE_PACKAGES}). The first build on a machine debootstraps (minutes); afterwards an image
 * whose scripts did not change is not built again.
 */
export async function buildExampleImages(endpoint: DockerEndpoint = mainDocker): Promise<ExampleImages> {
  await buildDebianImage(endpoint, { tag: IMAGE_TAGS.base, include: BASE_PACKAGES });
  const baseId = (await docker(endpoint, ['image', 'inspect', '--format', '{{.Id}}', IMAGE_TAGS.base])).trim();
  // One at a time: the machine is small and shared, and each build is seconds.
  const db = await buildLayer(endpoint, 'db', baseId);
  const app = await buildLayer(endpoint, 'app', baseId);
  const lb = await buildLayer(endpoint, 'lb', baseId);
  return { db, app, lb };
}
