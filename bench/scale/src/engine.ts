// The few Docker Engine API reads the bench polls with. Polling through the CLI would start a
// process per look, and on two cores that CPU would be taken from the thing being measured.
import { request } from 'node:http';

/** GET on a daemon's unix socket, the JSON body parsed. */
export function engineGet<T>(socketPath: string, path: string, timeoutMs = 10_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const req = request({ socketPath, path, method: 'GET', timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        if (res.statusCode !== 200) {
          reject(new Error(`GET ${path} on ${socketPath}: ${res.statusCode} ${body.trim()}`));
          return;
        }
        try {
          resolve(JSON.parse(body) as T);
        } catch (err) {
          reject(new Error(`GET ${path} on ${socketPath}: not JSON`, { cause: err }));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} on ${socketPath}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

const filters = (f: Record<string, string[]>): string => encodeURIComponent(JSON.stringify(f));

interface ContainerSummary {
  Id: string;
  State: string;
  Labels: Record<string, string>;
}

/** Containers carrying a label (any value), with their state and labels; `all` includes stopped ones. */
export function containersWithLabel(socketPath: string, label: string, opts: { all?: boolean; running?: boolean } = {}): Promise<ContainerSummary[]> {
  const f: Record<string, string[]> = { label: [label] };
  if (opts.running) f.status = ['running'];
  return engineGet<ContainerSummary[]>(socketPath, `/containers/json?all=${opts.all ? 1 : 0}&filters=${filters(f)}`);
}

/** Every container on a daemon, stopped ones included. */
export function allContainers(socketPath: string): Promise<ContainerSummary[]> {
  return engineGet<ContainerSummary[]>(socketPath, '/containers/json?all=1');
}

interface SwarmTask {
  Slot?: number;
  DesiredState: string;
  Status: { State: string; Err?: string };
}

/** The tasks of a Swarm service that are meant to run. */
export function serviceTasks(socketPath: string, service: string): Promise<SwarmTask[]> {
  return engineGet<SwarmTask[]>(socketPath, `/tasks?filters=${filters({ service: [service], 'desired-state': ['running'] })}`);
}
