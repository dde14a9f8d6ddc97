import os from 'node:os';
import { attachRdmp, SdmiService, hostInstanceId } from '@sdmi/service';
import pkg from '../package.json' with { type: 'json' };

// One node-agent per Docker host, so the host names the instance unless SDMI_INSTANCE_ID says otherwise.
const service = new SdmiService({
  name: 'node-agent',
  version: pkg.version,
  description: pkg.description,
  metadata: { host: os.hostname() },
  defaults: { instanceId: hostInstanceId() },
});
// Host-wide work reaches every node-agent as broadcast tasks; its command kinds arrive with their issues.
attachRdmp(service, { handlers: [], queued: false, broadcast: true });
await service.runUntilSignal();
