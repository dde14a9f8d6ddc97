import { attachRdmp, SdmiService } from '@sdmi/service';
import pkg from '../package.json' with { type: 'json' };

const service = new SdmiService({ name: 'metrics-collector', version: pkg.version, description: pkg.description });
// Its command kinds arrive with their issues; until then every command is refused as unknown.
attachRdmp(service, { handlers: [] });
await service.runUntilSignal();
