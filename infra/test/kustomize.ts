// A small kustomize: the subset of `kustomize build` that infra/k8s uses, so CI can render the overlays
// without kubectl. Supported: resources (files and directories), namespace, labels (pairs,
// includeSelectors, includeTemplates), commonLabels, images (name, newName, newTag, digest) and
// patches with a target and an inline JSON 6902 patch. Anything else in a kustomization.yaml is an
// error, so a new feature cannot be silently ignored here (k8s.test.ts compares with `kubectl kustomize`
// where kubectl is installed).
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments, parse as parseYaml } from 'yaml';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

interface PatchTarget {
  kind?: string;
  name?: string;
  namespace?: string;
  group?: string;
  version?: string;
}
interface Kustomization {
  apiVersion?: string;
  kind?: string;
  resources?: string[];
  namespace?: string;
  commonLabels?: Record<string, string>;
  labels?: { pairs: Record<string, string>; includeSelectors?: boolean; includeTemplates?: boolean }[];
  images?: { name: string; newName?: string; newTag?: string; digest?: string }[];
  patches?: { target?: PatchTarget; patch?: string; path?: string }[];
}

const SUPPORTED = new Set(['apiVersion', 'kind', 'resources', 'namespace', 'commonLabels', 'labels', 'images', 'patches']);

/** Kinds that live outside namespaces (the namespace transformer leaves them alone). */
const CLUSTER_SCOPED = new Set([
  'Namespace', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'PersistentVolume', 'StorageClass',
  'IngressClass', 'PriorityClass', 'RuntimeClass', 'ClusterTriggerAuthentication', 'ValidatingWebhookConfiguration',
  'MutatingWebhookConfiguration', 'APIService',
]);

export class KustomizeError extends Error {
  constructor(file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = 'KustomizeError';
  }
}

function kustomizationFile(dir: string): string {
  for (const name of ['kustomization.yaml', 'kustomization.yml', 'Kustomization']) {
    const f = path.join(dir, name);
    if (existsSync(f)) return f;
  }
  throw new KustomizeError(dir, 'no kustomization.yaml');
}

/** Parses every document of a YAML file into objects; empty documents are skipped. */
export function readObjects(file: string, text = readFileSync(file, 'utf8')): K8sObject[] {
  const out: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length) throw new KustomizeError(file, `YAML: ${doc.errors[0].message}`);
    const obj = doc.toJS() as K8sObject | null;
    if (obj === null || obj === undefined) continue;
    if (typeof obj !== 'object' || Array.isArray(obj)) throw new KustomizeError(file, 'a document is not a mapping');
    for (const field of ['apiVersion', 'kind'] as const) {
      if (typeof obj[field] !== 'string') throw new KustomizeError(file, `an object has no ${field}`);
    }
    if (typeof obj.metadata?.name !== 'string') throw new KustomizeError(file, `a ${obj.kind} has no metadata.name`);
    out.push(obj);
  }
  return out;
}

/** `kustomize build DIR`, for the features listed at the top of this file. */
export function build(dir: string): K8sObject[] {
  const file = kustomizationFile(dir);
  const k = parseYaml(readFileSync(file, 'utf8')) as Kustomization;
  for (const key of Object.keys(k ?? {})) {
    if (!SUPPORTED.has(key)) throw new KustomizeError(file, `"${key}" is not supported by infra/test/kustomize.ts (supported: ${[...SUPPORTED].join(', ')})`);
  }
  let objects: K8sObject[] = [];
  for (const res of k.resources ?? []) {
    const p = path.resolve(dir, res);
    if (!existsSync(p)) throw new KustomizeError(file, `resource ${res} does not exist`);
    objects.push(...(statSync(p).isDirectory() ? build(p) : readObjects(p)));
  }
  const seen = new Set<string>();
  for (const o of objects) {
    const id = objectId(o);
    if (seen.has(id)) throw new KustomizeError(file, `${id} is defined twice`);
    seen.add(id);
  }
  for (const [i, p] of (k.patches ?? []).entries()) objects = applyPatch(objects, p, `${file} patches[${i}]`, dir);
  if (k.namespace) {
    for (const o of objects) if (!CLUSTER_SCOPED.has(o.kind)) o.metadata.namespace = k.namespace;
  }
  if (k.commonLabels) addLabels(objects, k.commonLabels, true, true);
  for (const l of k.labels ?? []) addLabels(objects, l.pairs, !!l.includeSelectors, !!(l.includeSelectors || l.includeTemplates));
  for (const img of k.images ?? []) setImage(objects, img);
  return objects;
}

export function objectId(o: K8sObject): string {
  return `${o.kind}/${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;
}

function podTemplate(o: K8sObject): { metadata?: { labels?: Record<string, string> }; spec?: Record<string, unknown> } | undefined {
  const spec = o.spec as Record<string, any> | undefined;
  if (o.kind === 'CronJob') return spec?.jobTemplate?.spec?.template;
  return spec?.template;
}

function addLabels(objects: K8sObject[], pairs: Record<string, string>, selectors: boolean, templates: boolean): void {
  for (const o of objects) {
    o.metadata.labels = { ...o.metadata.labels, ...pairs };
    const t = podTemplate(o);
    if (templates && t) t.metadata = { ...t.metadata, labels: { ...t.metadata?.labels, ...pairs } };
    if (selectors) {
      const spec = o.spec as Record<string, any> | undefined;
      if (o.kind === 'Service' && spec) spec.selector = { ...spec.selector, ...pairs };
      else if (spec?.selector && typeof spec.selector === 'object') spec.selector.matchLabels = { ...spec.selector.matchLabels, ...pairs };
    }
  }
}

/** name[:tag][@digest], where a registry host may carry a port (host:5000/name). */
export function parseImage(ref: string): { name: string; tag?: string; digest?: string } {
  const [beforeDigest, digest] = ref.split('@');
  const slash = beforeDigest.lastIndexOf('/');
  const colon = beforeDigest.lastIndexOf(':');
  if (colon > slash) return { name: beforeDigest.slice(0, colon), tag: beforeDigest.slice(colon + 1), digest };
  return { name: beforeDigest, digest };
}

function setImage(objects: K8sObject[], img: NonNullable<Kustomization['images']>[number]): void {
  for (const o of objects) {
    const spec = podTemplate(o)?.spec ?? (o.kind === 'Pod' ? (o.spec as Record<string, unknown>) : undefined);
    for (const list of ['containers', 'initContainers'] as const) {
      for (const c of (spec?.[list] as { image?: string }[] | undefined) ?? []) {
        if (!c.image) continue;
        const cur = parseImage(c.image);
        if (cur.name !== img.name) continue;
        const name = img.newName ?? cur.name;
        if (img.digest) c.image = `${name}@${img.digest}`;
        else {
          const tag = img.newTag ?? cur.tag;
          c.image = `${name}${tag ? `:${tag}` : ''}${!img.newTag && cur.digest ? `@${cur.digest}` : ''}`;
        }
      }
    }
  }
}

function matches(o: K8sObject, t: PatchTarget): boolean {
  const re = (s: string) => new RegExp(`^(?:${s})$`);
  const [group, version] = o.apiVersion.includes('/') ? o.apiVersion.split('/') : ['', o.apiVersion];
  return (
    (t.kind === undefined || re(t.kind).test(o.kind)) &&
    (t.name === undefined || re(t.name).test(o.metadata.name)) &&
    (t.namespace === undefined || re(t.namespace).test(o.metadata.namespace ?? '')) &&
    (t.group === undefined || t.group === group) &&
    (t.version === undefined || t.version === version)
  );
}

function applyPatch(objects: K8sObject[], p: NonNullable<Kustomization['patches']>[number], where: string, dir: string): K8sObject[] {
  if (!p.target) throw new KustomizeError(where, 'a patch needs a target (strategic-merge patches are not supported here)');
  const text = p.patch ?? (p.path ? readFileSync(path.resolve(dir, p.path), 'utf8') : undefined);
  if (text === undefined) throw new KustomizeError(where, 'a patch needs patch or path');
  const ops = parseYaml(text) as unknown;
  if (!Array.isArray(ops)) throw new KustomizeError(where, 'only JSON 6902 patches (a list of operations) are supported here');
  const hits = objects.filter((o) => matches(o, p.target!));
  if (hits.length === 0) throw new KustomizeError(where, `the target ${JSON.stringify(p.target)} matches no object`);
  for (const o of hits) {
    for (const op of ops as { op: string; path: string; value?: Json }[]) jsonPatch(o as unknown as Json, op, `${where} ${objectId(o)}`);
  }
  return objects;
}

function pointer(p: string, where: string): string[] {
  if (p === '') return [];
  if (!p.startsWith('/')) throw new KustomizeError(where, `JSON pointer "${p}" must start with /`);
  return p.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** RFC 6902 add, replace, remove and test. */
export function jsonPatch(doc: Json, op: { op: string; path: string; value?: Json }, where = 'patch'): void {
  const keys = pointer(op.path, where);
  const last = keys.pop();
  if (last === undefined) throw new KustomizeError(where, `${op.op} of the whole document is not supported`);
  let parent: Json = doc;
  for (const k of keys) {
    const next: Json | undefined = Array.isArray(parent) ? parent[Number(k)] : parent && typeof parent === 'object' ? parent[k] : undefined;
    if (next === undefined || next === null || typeof next !== 'object') throw new KustomizeError(where, `${op.op} ${op.path}: ${k} does not exist`);
    parent = next;
  }
  if (parent === null || typeof parent !== 'object') throw new KustomizeError(where, `${op.op} ${op.path}: the parent is not an object`);
  const value = structuredClone(op.value) as Json;
  if (Array.isArray(parent)) {
    const i = last === '-' ? parent.length : Number(last);
    if (!Number.isInteger(i) || i < 0 || i > parent.length) throw new KustomizeError(where, `${op.op} ${op.path}: bad index`);
    if (op.op === 'add') parent.splice(i, 0, value);
    else if (op.op === 'replace' && i < parent.length) parent[i] = value;
    else if (op.op === 'remove' && i < parent.length) parent.splice(i, 1);
    else if (op.op === 'test' && JSON.stringify(parent[i]) === JSON.stringify(value)) return;
    else throw new KustomizeError(where, `${op.op} ${op.path}: not possible on this array`);
    return;
  }
  const has = Object.prototype.hasOwnProperty.call(parent, last);
  if (op.op === 'add') parent[last] = value;
  else if (op.op === 'replace' && has) parent[last] = value;
  else if (op.op === 'remove' && has) delete parent[last];
  else if (op.op === 'test' && JSON.stringify(parent[last]) === JSON.stringify(value)) return;
  else throw new KustomizeError(where, `${op.op} ${op.path}: ${has ? 'unsupported operation' : `${last} does not exist`}`);
}
