import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { docker, mainDocker } from './docker';
import type { DockerEndpoint } from './docker';
import { run, tryRun } from './exec';
import { runId } from './names';
import { removeTree } from './procs';

/** Tag of the minimal busybox image built by {@link buildBaseImage}. */
export const BASE_IMAGE = 'sdmi/base:busybox';

/** Whether the daemon has an image with this tag. */
export async function imageExists(endpoint: DockerEndpoint, tag: string): Promise<boolean> {
  const r = await tryRun('docker', ['-H', endpoint.host, 'image', 'inspect', '--format', '{{.Id}}', tag]);
  return r.exitCode === 0;
}

function tempDir(kind: string): string {
  return mkdtempSync(join(tmpdir(), `sdmi-${runId()}-${kind}`));
}

let archives = 0;

async function importRootfs(endpoint: DockerEndpoint, rootfs: string, tag: string, changes: readonly string[]): Promise<void> {
  // One archive per build: two test files importing the same root file system at once (both build
  // the example's images on a fresh machine) shared `${rootfs}.tar`, and one's rm or rewrite cut
  // the other's import short ("Error processing tar file: unexpected EOF").
  const archive = `${rootfs}.${runId()}-${process.pid}-${++archives}.tar`;
  try {
    await run('tar', ['--numeric-owner', '-C', rootfs, '-cf', archive, '.'], { timeoutMs: 600_000 });
    await docker(endpoint, ['import', ...changes.flatMap((c) => ['--change', c]), archive, tag], { timeoutMs: 600_000 });
  } finally {
    rmSync(archive, { force: true });
  }
}

export interface BaseImageOptions {
  /** Default {@link BASE_IMAGE}. */
  tag?: string;
  /** The statically linked busybox to use; default `/bin/busybox` (package busybox-static). */
  busybox?: string;
}

/**
 * Makes a minimal image from busybox-static (`/bin/busybox` plus a symlink per applet, `/etc/passwd`,
 * `/tmp` …) with `docker import`, unless the daemon already has the tag. Resolves with the tag.
 */
export async function buildBaseImage(endpoint: DockerEndpoint = mainDocker, options: BaseImageOptions = {}): Promise<string> {
  const tag = options.tag ?? BASE_IMAGE;
  if (await imageExists(endpoint, tag)) return tag;
  const busybox = options.busybox ?? '/bin/busybox';
  const applets = (await run(busybox, ['--list'])).split('\n').filter((a) => a && a !== 'busybox');
  const root = tempDir('r');
  try {
    for (const d of ['bin', 'etc', 'root', 'tmp', 'var/tmp', 'proc', 'sys', 'dev', 'run']) mkdirSync(join(root, d), { recursive: true });
    chmodSync(join(root, 'tmp'), 0o1777);
    chmodSync(join(root, 'var/tmp'), 0o1777);
    copyFileSync(busybox, join(root, 'bin/busybox'));
    chmodSync(join(root, 'bin/busybox'), 0o755);
    for (const a of applets) symlinkSync('busybox', join(root, 'bin', a));
    writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
    writeFileSync(join(root, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
    await importRootfs(endpoint, root, tag, ['ENV PATH=/bin', 'CMD ["/bin/sh"]']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return tag;
}

export interface DebianImageOptions {
  /** Debian suite; default `bookworm`. */
  suite?: string;
  /** Default `sdmi/base:debian-<suite>`. */
  tag?: string;
  /** Where the debootstrapped root file system is kept between runs; default `/var/cache/sdmi/debootstrap`. */
  cacheDir?: string;
  /** Default `http://deb.debian.org/debian`. */
  mirror?: string;
  /** Extra packages for debootstrap `--include`. */
  include?: readonly string[];
}

/**
 * Makes a Debian image: `debootstrap --variant=minbase` into a cache dir (kept, so later builds,
 * also on other daemons, only import), then `docker import`. Skips everything if the tag exists.
 * Slow the first time (minutes); tests use {@link buildBaseImage} instead.
 */
export async function buildDebianImage(endpoint: DockerEndpoint = mainDocker, options: DebianImageOptions = {}): Promise<string> {
  const suite = options.suite ?? 'bookworm';
  const tag = options.tag ?? `sdmi/base:debian-${suite}`;
  if (await imageExists(endpoint, tag)) return tag;
  const include = [...(options.include ?? [])].sort();
  const cacheDir = options.cacheDir ?? '/var/cache/sdmi/debootstrap';
  const key = include.length ? `${suite}-minbase+${include.join(',')}` : `${suite}-minbase`;
  const rootfs = join(cacheDir, key);
  if (!existsSync(join(rootfs, '.sdmi-complete'))) {
    mkdirSync(cacheDir, { recursive: true });
    const partial = `${rootfs}.partial-${runId()}`;
    await removeTree(partial);
    try {
      await run(
        'debootstrap',
        [
          '--variant=minbase',
          ...(include.length ? [`--include=${include.join(',')}`] : []),
          suite,
          partial,
          options.mirror ?? 'http://deb.debian.org/debian',
        ],
        { timeoutMs: 1_800_000 },
      );
      await run('chroot', [partial, 'apt-get', 'clean']);
      writeFileSync(join(partial, '.sdmi-complete'), `${new Date().toISOString()}\n`);
      if (existsSync(join(rootfs, '.sdmi-complete'))) {
        // Another process finished the same tree meanwhile and may be archiving it: keep its copy.
        await removeTree(partial);
      } else {
        await removeTree(rootfs);
        renameSync(partial, rootfs);
      }
    } catch (e) {
      // debootstrap may leave /proc or /sys mounted inside the target: unmount before deleting.
      await removeTree(partial).catch(() => {});
      throw e;
    }
  }
  await importRootfs(endpoint, rootfs, tag, ['CMD ["/bin/bash"]']);
  return tag;
}
