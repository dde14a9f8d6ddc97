import type { EngineContext } from './context';
import { InvalidArgument, statusOf } from './errors';
import { toDockerError } from './translate';

/**
 * Whether the host has the image (by tag, digest or id). Never pulls: no registry is assumed
 * reachable, images are built or loaded on each host.
 */
export async function imageExists(ctx: EngineContext, ref: string): Promise<boolean> {
  ctx.assertOpen('imageExists');
  if (typeof ref !== 'string' || !/^[^\s\p{Cc}]{1,255}$/u.test(ref)) {
    throw new InvalidArgument('imageExists', '/ref', 'image-ref', ref, 'is not an image reference (a non-empty string without whitespace, e.g. "sdmi/base:busybox")');
  }
  try {
    await ctx.docker.getImage(ref).inspect();
    return true;
  } catch (e) {
    if (statusOf(e) === 404) return false;
    throw toDockerError(ctx, 'imageExists', e);
  }
}
