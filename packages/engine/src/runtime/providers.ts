// Execution providers: cpu by default, webgpu / cuda on request, never a silent fallback to the CPU.
import * as ort from 'onnxruntime-node';
import type { ExecutionProvider } from '../evaluation';

export const PROVIDERS: readonly ExecutionProvider[] = ['cpu', 'webgpu', 'cuda'];

/** Providers that keep tensors on a device, where cache state should stay between runs. */
export const isGpuProvider = (p: ExecutionProvider) => p !== 'cpu';

export type SessionOptions = ort.InferenceSession.SessionOptions;

type ProviderEntry = NonNullable<SessionOptions['executionProviders']>[number];

/**
 * Session options for `provider`, merged over the caller's. The session runs on `provider` alone; a
 * caller's entry for it given as an object keeps its provider options (e.g. `{ name: 'webgpu',
 * validationMode: 'disabled' }`), entries for other providers are dropped. On GPU providers a node the
 * provider cannot run makes session creation fail instead of running on the CPU (a device-host copy per step).
 */
export function providerSessionOptions(provider: ExecutionProvider, user: SessionOptions = {}): SessionOptions {
  if (!PROVIDERS.includes(provider)) {
    throw new Error(`provider: got ${JSON.stringify(provider)}, allowed: ${PROVIDERS.join(', ')}`);
  }
  const own = (user.executionProviders ?? []).find((ep): ep is Exclude<ProviderEntry, string> => typeof ep === 'object' && ep.name === provider);
  const options: SessionOptions = { ...user, executionProviders: [own ?? provider] };
  if (isGpuProvider(provider)) {
    const extra = (user.extra ?? {}) as Record<string, Record<string, string>>;
    options.extra = { ...extra, session: { ...(extra.session ?? {}), disable_cpu_ep_fallback: '1' } };
  }
  return options;
}

/** Creates a session on exactly `provider`; a missing or failing provider throws, naming it. */
export async function createInferenceSession(
  model: Uint8Array | string,
  provider: ExecutionProvider,
  options: SessionOptions,
): Promise<ort.InferenceSession> {
  const supported = ort.listSupportedBackends().map((b) => b.name);
  if (!supported.includes(provider)) {
    throw new Error(`provider: ${provider} is not available in this onnxruntime-node build (available: ${supported.join(', ')})`);
  }
  try {
    return typeof model === 'string' ? await ort.InferenceSession.create(model, options) : await ort.InferenceSession.create(model, options);
  } catch (error) {
    throw new Error(`provider: cannot create an ONNX Runtime session on ${provider}: ${(error as Error).message}`);
  }
}
