import type { EngineContext } from './context';
import {
  ContainerNameTaken,
  ContainerNotFound,
  ContainerNotRunning,
  ContainerRunning,
  DockerApiError,
  DockerError,
  EngineUnreachable,
  ImageNotFound,
  dockerMessage,
  isSocketFailure,
  statusOf,
} from './errors';

/** What a failed request was about, so the error can name it. */
export interface Subject {
  container?: string;
  image?: string;
  name?: string;
}

/**
 * Turns a dockerode failure into the error class of its failure mode. Docker has no error codes,
 * only HTTP statuses and messages, so the message is matched too; anything unrecognised stays a
 * DockerApiError carrying Docker's own words.
 */
export function toDockerError(ctx: EngineContext, operation: string, err: unknown, subject: Subject = {}): DockerError {
  if (err instanceof DockerError) return err;
  if (isSocketFailure(err)) {
    const code = (err as { code?: string }).code;
    return new EngineUnreachable(ctx.socketPath, `${code} during ${operation}`, { cause: err });
  }
  const status = statusOf(err);
  const msg = dockerMessage(err);
  if (status === 404 && /no such image/i.test(msg) && subject.image !== undefined) {
    return new ImageNotFound(subject.image, ctx.socketPath, { cause: err });
  }
  if (status === 404 && /no such container/i.test(msg)) {
    return new ContainerNotFound(subject.container ?? subject.name ?? '?', ctx.socketPath, { cause: err });
  }
  if (status === 409) {
    const taken = /is already in use by container "?([0-9a-f]{12,64})"?/i.exec(msg);
    if (taken || /already in use/i.test(msg)) return new ContainerNameTaken(subject.name ?? '?', taken?.[1], ctx.socketPath, { cause: err });
    if (/is not running/i.test(msg)) return new ContainerNotRunning(subject.container ?? '?', operation, ctx.socketPath, { cause: err });
    if (/cannot remove a running container/i.test(msg)) return new ContainerRunning(subject.container ?? '?', ctx.socketPath, { cause: err });
  }
  return new DockerApiError(operation, status, msg, ctx.socketPath, { cause: err });
}
