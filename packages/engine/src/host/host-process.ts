// The evaluation loop of an EvaluationHost as a child process (host-loop.ts; host-channel.ts forks it
// with the loop's config as its argument and an IPC channel).
import type { HostMessage, HostRequest, HostThreadConfig } from './host-protocol';
import { serveHost } from './host-loop';

const send = process.send?.bind(process);
if (!send) throw new Error('host-process.ts must run as a child process with an IPC channel (see evaluation-host.ts)');
// The caller went away (killed, or closed the channel): nothing is left to report to.
process.on('disconnect', () => process.exit(0));
let lastSent = Promise.resolve();
serveHost(
  {
    post: (message: HostMessage) => {
      lastSent = new Promise((resolve) => send(message, () => resolve()));
    },
    onRequest: (handler) => process.on('message', (m) => handler(m as HostRequest)),
    // ONNX Runtime's provider threads may outlive the sessions: exit once the last message is out.
    end: () => void lastSent.then(() => process.exit(0)),
  },
  JSON.parse(process.argv[2] ?? '{}') as HostThreadConfig,
);
