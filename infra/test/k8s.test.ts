// The Kubernetes manifests, validated without a cluster: render each overlay (infra/test/kustomize.ts,
// cross-checked with `kubectl kustomize` where kubectl is installed), validate every object against the
// Kubernetes and KEDA schemas, check that the pieces fit kvbench, and show that broken manifests fail.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { Queue } from 'bullmq';
import { DEFAULT_QUEUE_PREFIX, DEVICE_CLASSES } from '@kvbench/protocol';
import { RunQueues } from '@kvbench/inference-worker/queue';
import { build, jsonPatch, objectId, readObjects, type K8sObject } from './kustomize';
import { validateAll, validateObject } from './validate';
import { gjsonGet, semanticProblems, type CheckOptions } from './checks';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const K8S = path.join(ROOT, 'infra/k8s');
const OVERLAYS = ['dev', 'prod'] as const;

/** The port infra/web.Dockerfile exposes, when the Dockerfile is there. */
function webPort(): number | undefined {
  const f = path.join(ROOT, 'infra/web.Dockerfile');
  if (!existsSync(f)) return undefined;
  const m = /^EXPOSE\s+(\d+)/m.exec(readFileSync(f, 'utf8'));
  return m ? Number(m[1]) : undefined;
}

function optionsFor(overlay: string): CheckOptions {
  const opts: CheckOptions = { webPort: webPort() };
  if (overlay === 'prod') {
    // The prod Secret is created out of band; secret.example.yaml lists its keys.
    const [example] = readObjects(path.join(K8S, 'overlays/prod/secret.example.yaml'));
    opts.externalSecrets = { [example.metadata.name]: Object.keys((example as any).stringData ?? {}) };
  }
  return opts;
}

const rendered = Object.fromEntries(OVERLAYS.map((o) => [o, build(path.join(K8S, 'overlays', o))])) as Record<(typeof OVERLAYS)[number], K8sObject[]>;
const clone = (objs: K8sObject[]) => structuredClone(objs);
const get = (objs: K8sObject[], kind: string, name: string) => {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`${kind}/${name} not rendered`);
  return o as any;
};

function hasKubectl(): boolean {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe.each(OVERLAYS)('overlay %s', (overlay) => {
  const objs = rendered[overlay];

  it('renders the kinds kvbench needs', () => {
    const kinds = objs.map((o) => o.kind);
    for (const k of ['Namespace', 'ConfigMap', 'PersistentVolumeClaim', 'Deployment', 'Service', 'Ingress', 'ScaledObject', 'TriggerAuthentication']) {
      expect(kinds, k).toContain(k);
    }
    expect(objs.filter((o) => o.kind === 'Deployment').map((o) => o.metadata.name).sort()).toEqual(
      ['web', ...DEVICE_CLASSES.map((d) => `worker-${d.name}`)].sort(),
    );
    if (overlay === 'dev') {
      expect(objs.filter((o) => o.kind === 'StatefulSet').map((o) => o.metadata.name).sort()).toEqual(['postgres', 'redis']);
      expect(kinds).toContain('Secret');
    } else {
      // External Redis/Postgres, and no credentials in the repository.
      expect(kinds).not.toContain('StatefulSet');
      expect(kinds).not.toContain('Secret');
    }
  });

  it('every object is valid against the Kubernetes / KEDA schemas', () => {
    expect(validateAll(objs)).toEqual([]);
  });

  it('the objects fit together and fit kvbench', () => {
    expect(semanticProblems(objs, optionsFor(overlay))).toEqual([]);
  });

  it.skipIf(!hasKubectl())('renders exactly what `kubectl kustomize` renders', () => {
    const out = execFileSync('kubectl', ['kustomize', path.join(K8S, 'overlays', overlay)], { encoding: 'utf8' });
    const theirs = readObjects(`kubectl kustomize ${overlay}`, out);
    const byId = (list: K8sObject[]) => Object.fromEntries(list.map((o) => [objectId(o), o]));
    expect(byId(objs)).toEqual(byId(theirs));
  });
});

describe('prod overlay specifics', () => {
  it('pins registry images to one tag and serves TLS', () => {
    const objs = rendered.prod;
    for (const d of objs.filter((o) => o.kind === 'Deployment')) {
      const image: string = (d.spec as any).template.spec.containers[0].image;
      expect(image, d.metadata.name).toMatch(/^registry\.example\.com\/kvbench\/(web|worker|worker-gpu):0\.1\.0$/);
    }
    const ing = get(objs, 'Ingress', 'web');
    expect(ing.spec.tls[0].hosts).toContain(ing.spec.rules[0].host);
  });
});

describe('broken manifests are rejected', () => {
  const dev = () => clone(rendered.dev);
  const opts = optionsFor('dev');

  it('a type error (a string port) fails the schema', () => {
    const objs = dev();
    get(objs, 'Deployment', 'web').spec.template.spec.containers[0].ports[0].containerPort = '3000';
    expect(validateAll(objs).join('\n')).toMatch(/Deployment\/kvbench\/web: .*containerPort must be integer/);
  });

  it('a missing required field fails the schema', () => {
    const objs = dev();
    delete get(objs, 'ScaledObject', 'worker-gpu-80g').spec.scaleTargetRef;
    expect(validateObject(get(objs, 'ScaledObject', 'worker-gpu-80g')).join('\n')).toMatch(/scaleTargetRef/);
  });

  it('a misspelt field name is caught', () => {
    const objs = dev();
    const spec = get(objs, 'Deployment', 'worker-gpu-24g').spec.template.spec;
    spec.terminationGracePeriodSecond = spec.terminationGracePeriodSeconds;
    delete spec.terminationGracePeriodSeconds;
    const problems = validateAll(objs).join('\n');
    expect(problems).toMatch(/unknown field "terminationGracePeriodSecond"/);
  });

  it('a trigger parameter that the scaler does not have is caught', () => {
    const objs = dev();
    get(objs, 'ScaledObject', 'worker-cpu').spec.triggers[1].metadata.listLenght = '1';
    expect(validateAll(objs).join('\n')).toMatch(/listLenght: not a redis scaler parameter/);
  });

  it('a device class without a ScaledObject fails', () => {
    const objs = dev().filter((o) => !(o.kind === 'ScaledObject' && o.metadata.name === 'worker-gpu-141g'));
    expect(semanticProblems(objs, opts).join('\n')).toMatch(/Deployment\/worker-gpu-141g: 0 ScaledObjects target it/);
  });

  it('a redis trigger on the wrong key fails (the list every BullMQ chart gets wrong)', () => {
    const objs = dev();
    get(objs, 'ScaledObject', 'worker-gpu-24g').spec.triggers[1].metadata.listName = 'bull:gpu-24g:wait';
    expect(semanticProblems(objs, opts).join('\n')).toMatch(/redis listName bull:gpu-24g:wait, expected kvbench:gpu-24g:wait/);
  });

  it('a grace period shorter than one job fails', () => {
    const objs = dev();
    get(objs, 'Deployment', 'worker-gpu-80g').spec.template.spec.terminationGracePeriodSeconds = 30;
    expect(semanticProblems(objs, opts).join('\n')).toMatch(/worker-gpu-80g: terminationGracePeriodSeconds 30 is not longer than one job/);
  });

  it('a GPU worker without a GPU fails', () => {
    const objs = dev();
    const res = get(objs, 'Deployment', 'worker-gpu-24g').spec.template.spec.containers[0].resources;
    delete res.limits['nvidia.com/gpu'];
    delete res.requests['nvidia.com/gpu'];
    expect(semanticProblems(objs, opts).join('\n')).toMatch(/worker-gpu-24g: limits nvidia.com\/gpu is undefined/);
  });

  it('a secretKeyRef to a key the Secret lacks fails', () => {
    const objs = dev();
    delete get(objs, 'Secret', 'kvbench-secrets').stringData.DATABASE_URL;
    const problems = semanticProblems(objs, opts).join('\n');
    expect(problems).toMatch(/Deployment\/kvbench\/web: container web env DATABASE_URL: secret kvbench-secrets has no key DATABASE_URL/);
    expect(problems).toMatch(/worker-cpu: container worker env DATABASE_URL/);
  });

  it('probes on the wrong path or port fail', () => {
    const objs = dev();
    const c = get(objs, 'Deployment', 'web').spec.template.spec.containers[0];
    c.readinessProbe.httpGet.path = '/health';
    c.livenessProbe.httpGet.port = 8080;
    const problems = semanticProblems(objs, opts).join('\n');
    expect(problems).toMatch(/readinessProbe path \/health/);
    expect(problems).toMatch(/livenessProbe port 8080, the image listens on 3000/);
  });

  it('a Redis that may evict keys fails', () => {
    const objs = dev();
    const cm = get(objs, 'ConfigMap', 'redis-config');
    cm.data['redis.conf'] = cm.data['redis.conf'].replace('noeviction', 'allkeys-lru');
    expect(semanticProblems(objs, opts).join('\n')).toMatch(/maxmemory-policy is not noeviction/);
  });

  it('a worker running as root fails', () => {
    const objs = dev();
    get(objs, 'Deployment', 'worker-cpu').spec.template.spec.securityContext.runAsNonRoot = false;
    expect(semanticProblems(objs, opts).join('\n')).toMatch(/worker-cpu: container worker: runAsNonRoot is not true/);
  });

  it('a ScaledObject that sends KEDA to the wrong namespace fails', () => {
    const objs = dev();
    const t = get(objs, 'ScaledObject', 'worker-cpu').spec.triggers[0];
    t.metadata.url = t.metadata.url.replace('web.kvbench.', 'web.default.');
    expect(semanticProblems(objs, opts).join('\n')).toMatch(/metrics-api url host web\.default\.svc\.cluster\.local, expected web\.kvbench/);
  });
});

describe('the renderer', () => {
  const tmp = mkdtempSync(path.join(tmpdir(), 'kvbench-k8s-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('refuses kustomization features it does not implement, and patches that match nothing', () => {
    cpSync(K8S, path.join(tmp, 'k8s'), { recursive: true });
    const k = path.join(tmp, 'k8s/overlays/dev/kustomization.yaml');
    const text = readFileSync(k, 'utf8');
    writeFileSync(k, `${text}\nsecretGenerator:\n  - name: x\n    literals: [a=b]\n`);
    expect(() => build(path.join(tmp, 'k8s/overlays/dev'))).toThrow(/"secretGenerator" is not supported/);
    writeFileSync(k, text.replace('name: worker-cpu }', 'name: worker-tpu }'));
    expect(() => build(path.join(tmp, 'k8s/overlays/dev'))).toThrow(/matches no object/);
  });

  it('applies JSON 6902 add/replace/remove like RFC 6902', () => {
    const doc = { a: { b: [1, 2] }, 'x/y': 1 } as any;
    jsonPatch(doc, { op: 'add', path: '/a/b/-', value: 3 });
    jsonPatch(doc, { op: 'add', path: '/a/b/0', value: 0 });
    jsonPatch(doc, { op: 'replace', path: '/x~1y', value: 2 });
    jsonPatch(doc, { op: 'remove', path: '/a/b/1' });
    expect(doc).toEqual({ a: { b: [0, 2, 3] }, 'x/y': 2 });
    expect(() => jsonPatch(doc, { op: 'replace', path: '/nope', value: 1 })).toThrow(/nope does not exist/);
  });

  it('the base names no namespace and no tags (overlays choose them)', () => {
    for (const o of build(path.join(K8S, 'base'))) {
      expect(o.metadata.namespace, objectId(o)).toBeUndefined();
      const image = (o.spec as any)?.template?.spec?.containers?.[0]?.image;
      if (image) expect(image).toMatch(/^kvbench\/[a-z-]+$/);
    }
  });
});

// Why the primary trigger reads the backlog endpoint and not the `wait` list: against a real Redis,
// prioritized jobs sit in a sorted set that LLEN never sees, while the counts the endpoint returns
// (RunQueues.counts, BullMQ getJobCounts) have them.
describe('backlog vs. the wait list (real Redis)', () => {
  const prefix = `kvbench-k8s-test-${process.pid}-${Date.now()}`;
  const queues = new RunQueues({ prefix, redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' });
  afterAll(async () => {
    const keys = await queues.connection.keys(`${prefix}:*`);
    if (keys.length) await queues.connection.del(...keys);
    await queues.close();
  });

  it('prioritized jobs are outside `<prefix>:<class>:wait` but inside the backlog', async () => {
    const cls = 'gpu-80g';
    const q = new Queue(cls, { connection: queues.connection, prefix });
    await q.addBulk([
      { name: 'run', data: { runId: 'a' }, opts: { jobId: 'a' } },
      { name: 'run', data: { runId: 'b' }, opts: { jobId: 'b' } },
      { name: 'run', data: { runId: 'c' }, opts: { jobId: 'c', priority: 1 } },
      { name: 'run', data: { runId: 'd' }, opts: { jobId: 'd', priority: 5 } },
      { name: 'run', data: { runId: 'e' }, opts: { jobId: 'e', priority: 5 } },
    ]);
    const so = get(rendered.dev, 'ScaledObject', `worker-${cls}`);
    // The trigger's key, with this test's prefix in place of the deployed one.
    const listName: string = so.spec.triggers.find((t: any) => t.type === 'redis').metadata.listName;
    expect(listName.startsWith(`${DEFAULT_QUEUE_PREFIX}:`)).toBe(true);
    const key = `${prefix}:${listName.slice(DEFAULT_QUEUE_PREFIX.length + 1)}`;
    expect(await queues.connection.llen(key)).toBe(2); // what KEDA's redis scaler sees
    expect(await queues.connection.zcard(`${prefix}:${cls}:prioritized`)).toBe(3);
    const counts = (await queues.counts())[cls];
    const backlog = counts.waiting + counts.prioritized + counts.active;
    expect(backlog).toBe(5); // what the metrics-api trigger reads (docs/deploy.md, GET /api/queues/<class>)
    await q.close();
  });
});

// The contract with the web app: GET /api/queues/<class> answers JSON whose `backlog` (the trigger's
// valueLocation) counts waiting + prioritized + active jobs (apps/web/app/api/queues/[name]/route.ts;
// docs/deploy.md gives the shape).
const BACKLOG_ROUTE = path.join(ROOT, 'apps/web/app/api/queues/[name]/route.ts');
describe('GET /api/queues/<class> feeds the metrics-api trigger (real Redis)', () => {
  it('backlog = waiting + prioritized + active, read at the trigger\'s valueLocation', async () => {
    const prefix = `kvbench-k8s-route-${process.pid}-${Date.now()}`;
    const queues = new RunQueues({ prefix, redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' });
    const cls = 'gpu-24g';
    const q = new Queue(cls, { connection: queues.connection, prefix });
    try {
      const services = (await import(path.join(ROOT, 'apps/web/lib/services.ts'))) as { setQueues(q: RunQueues): void };
      services.setQueues(queues);
      const route = (await import(BACKLOG_ROUTE)) as { GET(req: Request, ctx: { params: Promise<{ name: string }> }): Promise<Response> };
      await q.addBulk([
        { name: 'run', data: { runId: 'a' }, opts: { jobId: 'a' } },
        { name: 'run', data: { runId: 'b' }, opts: { jobId: 'b', priority: 2 } },
        { name: 'run', data: { runId: 'c' }, opts: { jobId: 'c', priority: 3 } },
        { name: 'run', data: { runId: 'd' }, opts: { jobId: 'd', delay: 3_600_000 } },
      ]);
      const trigger = get(rendered.dev, 'ScaledObject', `worker-${cls}`).spec.triggers.find((t: any) => t.type === 'metrics-api').metadata;
      const url = new URL(trigger.url);
      const res = await route.GET(new Request(`http://localhost:3000${url.pathname}`), { params: Promise.resolve({ name: cls }) });
      expect(res.status).toBe(200);
      // 1 waiting + 2 prioritized; the delayed job is not backlog.
      expect(gjsonGet(await res.json(), trigger.valueLocation)).toBe(3);
      const unknown = await route.GET(new Request('http://localhost:3000/api/queues/tpu'), { params: Promise.resolve({ name: 'tpu' }) });
      expect(unknown.status).toBe(404);
    } finally {
      await q.close();
      const keys = await queues.connection.keys(`${prefix}:*`);
      if (keys.length) await queues.connection.del(...keys);
      await queues.close();
    }
  });
});

it('gjsonGet reads plain GJSON paths', () => {
  expect(gjsonGet({ a: { 'b.c': 2, d: 3 } }, 'a.b\\.c')).toBe(2);
  expect(gjsonGet({ backlog: 7 }, 'backlog')).toBe(7);
  expect(gjsonGet({}, 'x.y')).toBeUndefined();
});

it('keda.yaml documents where each KEDA field comes from', () => {
  const text = readFileSync(path.join(K8S, 'base/keda.yaml'), 'utf8');
  expect(text).toMatch(/keda\.sh\/docs\/[\d.]+\/scalers\/metrics-api/);
  expect(text).toMatch(/keda\.sh\/docs\/[\d.]+\/scalers\/redis-lists/);
  // Each overlay's kustomization parses as YAML with the namespace the URLs assume.
  for (const o of OVERLAYS) expect(parseYaml(readFileSync(path.join(K8S, 'overlays', o, 'kustomization.yaml'), 'utf8')).namespace).toBe('kvbench');
});
