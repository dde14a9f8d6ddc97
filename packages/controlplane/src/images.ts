// Builds the images `up --containers` runs. No image registry is reachable, so nothing is pulled:
// Debian comes from debootstrap (Debian's package mirror) and is imported, Node.js is this
// machine's own binary (Debian's nodejs is too old), and each service image adds the repository
// with its node_modules on top. Every tag is a hash of what went into it, so an image whose
// inputs did not change is never built again, and one whose sources changed always is.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { copyFile, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createLogger, hostInstanceId, type Logger } from '@sdmi/service';
import { docker, imageExists, tryDocker } from './docker-cli';
import { ImageBuildError } from './errors';
import { messageOf } from './text';

/** What the node-agent runs besides node: `ip` (iproute2) and `ethtool`; `nsenter` is in util-linux, which minbase has. */
export const DEBIAN_PACKAGES = ['ethtool', 'iproute2'] as const;

export const BASE_IMAGE_NAME = 'sdmi/controlplane-base';

/** `sdmi/<service>`; its tags are content hashes, plus `latest` for the newest build. */
export function serviceImageName(service: string): string {
  return `sdmi/${service}`;
}

export interface ControlPlaneImagesOptions {
  /** Repository root: the build context, with `deploy/images/<service>/Dockerfile`. */
  rootDir: string;
  services: readonly string[];
  /** The daemon (`docker -H`); default the CLI's own. */
  dockerHost?: string | undefined;
  /** Default `bookworm`. */
  suite?: string;
  /** Default `http://deb.debian.org/debian`. */
  mirror?: string;
  /** Kept debootstrapped root file systems (shared with @sdmi/testbed's); default `/var/cache/sdmi/debootstrap`. */
  cacheDir?: string;
  /** The Node.js put into the base image; default the one running this (process.execPath). */
  nodeBinary?: string;
  logger?: Logger;
  /** One line per step, for a terminal. */
  onProgress?: (message: string) => void;
}

export interface BuiltImage {
  service: string;
  tag: string;
  /** False when the daemon already had the tag. */
  built: boolean;
  seconds: number;
}

export interface ControlPlaneImages {
  base: string;
  /** The image of each service, by service name. */
  images: Record<string, string>;
  results: BuiltImage[];
}

/**
 * Makes sure the daemon has the base image and an up-to-date image of every service, building
 * only what is missing. Resolves with the tags to run.
 */
export async function buildControlPlaneImages(options: ControlPlaneImagesOptions): Promise<ControlPlaneImages> {
  const log = options.logger ?? createLogger('controlplane-images', hostInstanceId());
  const progress = (message: string) => {
    log.info(message);
    options.onProgress?.(message);
  };
  const host = options.dockerHost;
  const debian = await debianImage(options, log, progress);
  const base = await baseImage(options, debian, log, progress);
  const context = await readContext(options.rootDir);
  const images: Record<string, string> = {};
  const results: BuiltImage[] = [];
  const wanted = options.services.map((service) => {
    const dockerfile = serviceDockerfile(options.rootDir, service);
    const hash = sha256(['service-image/1', base, readFileSync(dockerfile, 'utf8'), context.hash]).slice(0, 16);
    return { service, dockerfile, tag: `${serviceImageName(service)}:${hash}` };
  });
  const missing: typeof wanted = [];
  for (const w of wanted) {
    images[w.service] = w.tag;
    if (await imageExists(w.tag, host)) {
      progress(`${w.tag} is up to date`);
      results.push({ service: w.service, tag: w.tag, built: false, seconds: 0 });
    } else missing.push(w);
  }
  if (missing.length > 0) {
    // One snapshot of the tree for all of them: what was hashed is what is built (others may be
    // editing it meanwhile). Each build gets the snapshot plus its own Dockerfile as /Dockerfile,
    // which the daemon takes out again (.dockerignore lists it), so every COPY sees the same files
    // and finds the first one's layer in the build cache.
    const started = Date.now();
    const dir = await mkdtemp(path.join(os.tmpdir(), 'sdmi-controlplane-context-'));
    try {
      const snapshot = path.join(dir, 'context.tar');
      const list = path.join(dir, 'entries');
      await writeFile(list, context.entries.map((e) => `${e}\0`).join(''));
      await run('tar', ['--create', '--file', snapshot, '--directory', options.rootDir, '--no-recursion', '--null', '--files-from', list], log, 600_000);
      progress(`context of ${context.entries.length} entries packed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      for (const w of missing) {
        const t0 = Date.now();
        progress(`building ${w.tag}`);
        const archive = path.join(dir, `${w.service}.tar`);
        await copyFile(snapshot, archive);
        await run('tar', ['--append', '--file', archive, '--directory', path.dirname(w.dockerfile), '--transform', 's,^.*$,Dockerfile,', 'Dockerfile'], log, 60_000);
        await dockerBuild(w.tag, { archive, dockerfile: 'Dockerfile' }, { BASE: base }, host, log);
        await rm(archive, { force: true });
        await docker(['tag', w.tag, `${serviceImageName(w.service)}:latest`], { host });
        const seconds = (Date.now() - t0) / 1000;
        progress(`built ${w.tag} in ${seconds.toFixed(1)} s`);
        results.push({ service: w.service, tag: w.tag, built: true, seconds });
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  results.sort((a, b) => options.services.indexOf(a.service) - options.services.indexOf(b.service));
  if (missing.length > 0) for (const w of wanted) await pruneSuperseded(w.service, w.tag, host, log);
  return { base, images, results };
}

/**
 * Every change of the tree makes new images, and each holds the whole tree in its layer. Older
 * ones go once they are an hour old: by then whoever chose them (another `up` from the same
 * tree) has started its containers, and Docker refuses to remove an image a container uses.
 */
const SUPERSEDED_AFTER_MS = 3_600_000;

async function pruneSuperseded(service: string, current: string, host: string | undefined, log: Logger): Promise<void> {
  const name = serviceImageName(service);
  const listed = await tryDocker(['image', 'ls', '--format', '{{.Tag}}', name], { host });
  const old = listed.stdout
    .split('\n')
    .map((t) => t.trim())
    .filter((t) => /^[0-9a-f]{16}$/.test(t) && `${name}:${t}` !== current)
    .map((t) => `${name}:${t}`);
  for (const tag of old) {
    const created = Date.parse((await tryDocker(['image', 'inspect', '--format', '{{.Created}}', tag], { host })).stdout.trim());
    if (!Number.isFinite(created) || Date.now() - created < SUPERSEDED_AFTER_MS) continue;
    const r = await tryDocker(['image', 'rm', tag], { host });
    log.debug({ image: tag, removed: r.code === 0, output: r.stderr.trim() || undefined }, 'superseded image');
  }
}

export function serviceDockerfile(rootDir: string, service: string): string {
  return path.join(rootDir, 'deploy', 'images', service, 'Dockerfile');
}

/** Debian minbase with DEBIAN_PACKAGES, debootstrapped once into the cache and imported. */
async function debianImage(options: ControlPlaneImagesOptions, log: Logger, progress: (m: string) => void): Promise<string> {
  const suite = options.suite ?? 'bookworm';
  const include = [...DEBIAN_PACKAGES].sort();
  const tag = `sdmi/debian:${suite}-minbase-${include.join('-')}`;
  if (await imageExists(tag, options.dockerHost)) return tag;
  // The same key as @sdmi/testbed's buildDebianImage, so both find one another's root file system.
  const cacheDir = options.cacheDir ?? '/var/cache/sdmi/debootstrap';
  const rootfs = path.join(cacheDir, `${suite}-minbase+${include.join(',')}`);
  if (!existsSync(path.join(rootfs, '.sdmi-complete'))) {
    progress(`debootstrap ${suite} (minbase + ${include.join(', ')}) into ${rootfs}; a few minutes the first time`);
    await mkdir(cacheDir, { recursive: true });
    const partial = `${rootfs}.partial-${process.pid}`;
    try {
      await removeTree(partial, log);
      await run(
        'debootstrap',
        ['--variant=minbase', `--include=${include.join(',')}`, suite, partial, options.mirror ?? 'http://deb.debian.org/debian'],
        log,
        1_800_000,
      );
      await run('chroot', [partial, 'apt-get', 'clean'], log, 120_000);
      await writeFile(path.join(partial, '.sdmi-complete'), `${new Date().toISOString()}\n`);
      await removeTree(rootfs, log);
      await rename(partial, rootfs);
    } catch (err) {
      await removeTree(partial, log).catch(() => undefined);
      throw new ImageBuildError(tag, 'debootstrap', { cause: err });
    }
  }
  progress(`importing ${rootfs} as ${tag}`);
  const archive = `${rootfs}.tar-${process.pid}`;
  try {
    await run('tar', ['--numeric-owner', '--exclude=./.sdmi-complete', '-C', rootfs, '-cf', archive, '.'], log, 600_000);
    await docker(['import', '--change', 'CMD ["/bin/bash"]', archive, tag], { host: options.dockerHost, timeoutMs: 600_000 });
  } catch (err) {
    throw new ImageBuildError(tag, 'docker import', { cause: err });
  } finally {
    await rm(archive, { force: true });
  }
  return tag;
}

/** The Debian image plus this machine's node, built from deploy/images/base/Dockerfile. */
async function baseImage(options: ControlPlaneImagesOptions, debian: string, log: Logger, progress: (m: string) => void): Promise<string> {
  const node = options.nodeBinary ?? process.execPath;
  const dockerfile = path.join(options.rootDir, 'deploy', 'images', 'base', 'Dockerfile');
  const hash = sha256(['base-image/1', debian, readFileSync(dockerfile, 'utf8'), await fileHash(node)]).slice(0, 16);
  const tag = `${BASE_IMAGE_NAME}:${hash}`;
  if (await imageExists(tag, options.dockerHost)) return tag;
  progress(`building ${tag} (${debian} + node ${node})`);
  // A context of its own: the repository does not hold the node binary.
  const context = await mkdtemp(path.join(os.tmpdir(), 'sdmi-controlplane-base-'));
  try {
    await copyFile(node, path.join(context, 'node'));
    await dockerBuild(tag, { dir: context, dockerfile }, { DEBIAN: debian }, options.dockerHost, log);
    await docker(['tag', tag, `${BASE_IMAGE_NAME}:latest`], { host: options.dockerHost });
  } finally {
    await rm(context, { recursive: true, force: true });
  }
  return tag;
}

/** `docker build` from a directory, or from a tar of the context on stdin (then `dockerfile` is its path inside). */
async function dockerBuild(
  tag: string,
  context: { dir: string; dockerfile: string } | { archive: string; dockerfile: string },
  args: Record<string, string>,
  host: string | undefined,
  log: Logger,
): Promise<void> {
  const tail: string[] = [];
  // `--network none`: no step needs the network, and RUN then works on a daemon without docker0.
  const r = await tryDocker(
    [
      'build',
      '--force-rm',
      '--network',
      'none',
      '-f',
      context.dockerfile,
      '-t',
      tag,
      ...Object.entries(args).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]),
      'dir' in context ? context.dir : '-',
    ],
    {
      host,
      timeoutMs: 1_200_000,
      ...('archive' in context ? { stdinFile: context.archive } : {}),
      onLine: (line) => {
        log.debug({ image: tag }, line);
        tail.push(line);
        if (tail.length > 30) tail.shift();
      },
    },
  );
  if (r.code !== 0) throw new ImageBuildError(tag, 'docker build', { cause: new Error(tail.join('\n') || `exit ${r.code}`) });
}

export interface BuildContext {
  /** Every path of the context (directories, files, symlinks), relative to the root, parents first. */
  entries: string[];
  /** Of every entry outside node_modules by path, mode and content (symlinks by target); of the node_modules trees by pnpm's record of what it installed. */
  hash: string;
}

/**
 * The build context as the root .dockerignore makes it. Its hash stands in for the files of the
 * node_modules trees by node_modules/.pnpm/lock.yaml: reading 100 MB of packages on every `up`
 * would cost more than it tells.
 */
export async function readContext(rootDir: string): Promise<BuildContext> {
  const excluded = await dockerIgnore(rootDir);
  const hash = createHash('sha256');
  const installed = path.join(rootDir, 'node_modules', '.pnpm', 'lock.yaml');
  if (!existsSync(installed)) throw new ImageBuildError('service images', 'reading the context', { cause: new Error(`${installed} is missing; run pnpm install`) });
  hash.update(`node_modules\0${await readFile(installed, 'utf8')}\0`);
  const entries: string[] = [];
  const walk = async (rel: string, inModules: boolean): Promise<void> => {
    const dirents = await readdir(path.join(rootDir, rel), { withFileTypes: true });
    dirents.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of dirents) {
      const p = rel === '' ? e.name : `${rel}/${e.name}`;
      if (excluded(p)) continue;
      const modules = inModules || e.name === 'node_modules';
      const full = path.join(rootDir, p);
      const st = await lstat(full);
      if (st.isSymbolicLink()) {
        entries.push(p);
        if (!modules) hash.update(`l\0${p}\0${await readlink(full)}\0`);
      } else if (st.isDirectory()) {
        entries.push(p);
        await walk(p, modules);
      } else if (st.isFile()) {
        entries.push(p);
        if (!modules) hash.update(`f\0${p}\0${(st.mode & 0o777).toString(8)}\0${await fileHash(full)}\0`);
      }
    }
  };
  await walk('', false);
  return { entries, hash: hash.digest('hex') };
}

/**
 * The root .dockerignore as a predicate on paths relative to the root. Only the forms the file
 * promises are accepted, so that what is hashed and what Docker sends cannot drift apart silently.
 */
export async function dockerIgnore(rootDir: string): Promise<(relPath: string) => boolean> {
  let text = '';
  try {
    text = await readFile(path.join(rootDir, '.dockerignore'), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const patterns = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      if (l.startsWith('!') || l.includes('[') || l.includes('\\')) {
        throw new ImageBuildError('service images', 'reading .dockerignore', { cause: new Error(`unsupported pattern "${l}"`) });
      }
      return globToRegExp(l.replace(/^\/+/, '').replace(/\/+$/, ''));
    });
  return (relPath) => patterns.some((re) => re.test(relPath));
}

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (glob.startsWith('**/', i)) {
      re += '(?:.*/)?';
      i += 2;
    } else if (glob.startsWith('**', i)) {
      re += '.*';
      i += 1;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

function sha256(parts: readonly string[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(`${p}\0`);
  return h.digest('hex');
}

function fileHash(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(file)
      .on('data', (b) => h.update(b))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}

async function run(command: string, args: readonly string[], log: Logger, timeoutMs: number): Promise<void> {
  const tail: string[] = [];
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const onData = (b: Buffer) => {
      for (const line of b.toString('utf8').split('\n')) {
        if (line.trim() === '') continue;
        log.debug({ command }, line);
        tail.push(line);
        if (tail.length > 20) tail.shift();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`${command}: ${messageOf(e)}`, { cause: e }));
    });
    child.on('close', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${code}:\n${tail.join('\n')}`);
}

/** Unmounts what a failed debootstrap may have left mounted below `dir` (/proc, /sys), then deletes it. */
async function removeTree(dir: string, log: Logger): Promise<void> {
  const mounts = readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1] ?? '')
    .filter((m) => m === dir || m.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) await run('umount', ['-l', m], log, 60_000);
  await rm(dir, { recursive: true, force: true });
}
