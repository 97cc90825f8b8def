// Schema validation of rendered manifests, offline:
//  1. each object against the Kubernetes OpenAPI schema (kubernetes-models) or KEDA's CRD schema
//     (@kubernetes-models/keda): required fields, types, enums, int32 formats;
//  2. unknown field names, which those schemas (like the API server without strict validation) let
//     through: every key must be a property of some Kubernetes/KEDA type, outside free-form maps;
//  3. KEDA trigger metadata, a string map in the CRD: the parameters each scaler documents.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { ConfigMap, Namespace, PersistentVolumeClaim, Secret, Service } from 'kubernetes-models/v1';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1';
import { ScaledObject, TriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { objectId, type K8sObject } from './kustomize';

type Model = new (data: any) => { validate(): void };
const MODELS: Record<string, Model> = {
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'v1/ConfigMap': ConfigMap,
  'v1/Namespace': Namespace,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'networking.k8s.io/v1/Ingress': Ingress,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject,
  'keda.sh/v1alpha1/TriggerAuthentication': TriggerAuthentication,
};

/**
 * Trigger metadata each KEDA scaler we use accepts, and what it requires (keda.sh/docs/2.17/scalers/
 * metrics-api, keda.sh/docs/2.15/scalers/redis-lists). Values are strings in the CRD.
 */
export const SCALER_PARAMS: Record<string, { required: string[]; optional: string[] }> = {
  'metrics-api': {
    required: ['url', 'valueLocation', 'targetValue'],
    optional: ['activationTargetValue', 'format', 'unsafeSsl', 'authMode', 'method', 'keyParamName', 'aggregateFromKubeServiceEndpoints', 'aggregationType'],
  },
  redis: {
    required: ['listName', 'listLength'],
    optional: [
      'address', 'addressFromEnv', 'host', 'hostFromEnv', 'port', 'portFromEnv', 'usernameFromEnv', 'passwordFromEnv',
      'activationListLength', 'enableTLS', 'unsafeSsl', 'databaseIndex',
    ],
  },
};

let vocabulary: Set<string> | null = null;
/** Every property name of every Kubernetes and KEDA type, read from the packages' compiled schemas. */
function knownFields(): Set<string> {
  if (vocabulary) return vocabulary;
  const require = createRequire(import.meta.url);
  const dirs = ['kubernetes-models', '@kubernetes-models/apimachinery', '@kubernetes-models/keda'].map((pkg) =>
    path.join(path.dirname(require.resolve(`${pkg}/package.json`)), '_schemas'),
  );
  vocabulary = new Set();
  for (const dir of dirs) {
    for (const f of readdirSync(dir)) {
      if (!f.endsWith('.js')) continue;
      for (const m of readFileSync(path.join(dir, f), 'utf8').matchAll(/\bdata\.([A-Za-z_][A-Za-z0-9_]*)/g)) vocabulary.add(m[1]);
    }
  }
  vocabulary.delete('length');
  return vocabulary;
}

/** Maps whose keys are data, not field names. */
const FREE_FORM = new Set(['labels', 'annotations', 'matchLabels', 'nodeSelector', 'requests', 'limits', 'data', 'stringData', 'binaryData']);

function unknownFields(o: K8sObject): string[] {
  const known = knownFields();
  const out: string[] = [];
  const walk = (v: unknown, at: string[]) => {
    if (Array.isArray(v)) return v.forEach((x, i) => walk(x, [...at, String(i)]));
    if (!v || typeof v !== 'object') return;
    const parent = at[at.length - 1];
    if (FREE_FORM.has(parent)) return;
    if (parent === 'selector' && o.kind === 'Service') return;
    if (parent === 'metadata' && at[at.length - 3] === 'triggers') return; // checked by SCALER_PARAMS
    for (const [k, x] of Object.entries(v)) {
      if (!known.has(k)) out.push(`${[...at, k].join('.')}: unknown field "${k}"`);
      walk(x, [...at, k]);
    }
  };
  walk(o, []);
  return out;
}

function triggerProblems(o: K8sObject): string[] {
  if (o.kind !== 'ScaledObject') return [];
  const out: string[] = [];
  const triggers = ((o.spec as any)?.triggers ?? []) as { type: string; metadata?: Record<string, unknown> }[];
  triggers.forEach((t, i) => {
    const params = SCALER_PARAMS[t.type];
    if (!params) return out.push(`spec.triggers.${i}.type: "${t.type}" is not a scaler this project uses (${Object.keys(SCALER_PARAMS).join(', ')})`);
    const md = t.metadata ?? {};
    for (const r of params.required) if (md[r] === undefined) out.push(`spec.triggers.${i}.metadata.${r}: required by the ${t.type} scaler`);
    for (const [k, v] of Object.entries(md)) {
      if (!params.required.includes(k) && !params.optional.includes(k)) out.push(`spec.triggers.${i}.metadata.${k}: not a ${t.type} scaler parameter`);
      if (typeof v !== 'string') out.push(`spec.triggers.${i}.metadata.${k}: must be a string (got ${JSON.stringify(v)})`);
    }
  });
  return out;
}

/** Problems of one object, each naming the object and the field; empty when it is valid. */
export function validateObject(o: K8sObject): string[] {
  const id = objectId(o);
  const Model = MODELS[`${o.apiVersion}/${o.kind}`];
  if (!Model) return [`${id}: no schema for ${o.apiVersion} ${o.kind} (add it to infra/test/validate.ts)`];
  const problems: string[] = [];
  try {
    new Model(structuredClone(o)).validate();
  } catch (err) {
    problems.push(`${id}: ${(err as Error).message}`);
  }
  for (const p of [...unknownFields(o), ...triggerProblems(o)]) problems.push(`${id}: ${p}`);
  return problems;
}

export function validateAll(objects: K8sObject[]): string[] {
  return objects.flatMap(validateObject);
}
