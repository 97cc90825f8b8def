// What the schemas cannot see: that the rendered objects fit together and fit kvbench (device classes,
// queue keys, secrets, probes, grace periods). Each problem names the object and the field.
import { DEFAULT_QUEUE_PREFIX, DEVICE_CLASSES } from '@kvbench/protocol';
import { objectId, parseImage, type K8sObject } from './kustomize';

export interface CheckOptions {
  /** Secrets created outside the kustomization (prod), by name, with their keys. */
  externalSecrets?: Record<string, string[]>;
  /** The port the web image listens on (infra/web.Dockerfile EXPOSE). */
  webPort?: number;
  /** Image names (before any registry rename) of each component. */
  images?: { web: string; worker: string; workerGpu: string };
}

export const WEB_HEALTH_PATH = '/api/health';
export const MAX_JOB_ANNOTATION = 'kvbench.dev/max-job-seconds';
/** The web route the KEDA metrics-api trigger reads (docs/deploy.md gives its JSON). */
export const backlogPath = (cls: string) => `/api/queues/${cls}`;

type Any = Record<string, any>;
const find = (objs: K8sObject[], kind: string, name: string) => objs.find((o) => o.kind === kind && o.metadata.name === name);
const podSpec = (o: K8sObject): Any | undefined => (o.spec as Any | undefined)?.template?.spec;

function secretKeys(objs: K8sObject[], opts: CheckOptions): Map<string, Set<string>> {
  const m = new Map<string, Set<string>>();
  for (const o of objs) {
    if (o.kind !== 'Secret') continue;
    m.set(o.metadata.name, new Set([...Object.keys((o as Any).data ?? {}), ...Object.keys((o as Any).stringData ?? {})]));
  }
  for (const [name, keys] of Object.entries(opts.externalSecrets ?? {})) m.set(name, new Set(keys));
  return m;
}

function resolvePort(container: Any, port: unknown): number | undefined {
  if (typeof port === 'number') return port;
  return (container.ports ?? []).find((p: Any) => p.name === port)?.containerPort;
}

export function semanticProblems(objs: K8sObject[], opts: CheckOptions = {}): string[] {
  const out: string[] = [];
  const problem = (o: K8sObject | string, msg: string) => out.push(`${typeof o === 'string' ? o : objectId(o)}: ${msg}`);
  const secrets = secretKeys(objs, opts);
  const configMaps = new Map(objs.filter((o) => o.kind === 'ConfigMap').map((o) => [o.metadata.name, (o as Any).data ?? {}]));
  const namespaces = new Set(objs.filter((o) => o.kind !== 'Namespace').map((o) => o.metadata.namespace));

  // One namespace, and it exists.
  if (namespaces.size !== 1 || [...namespaces][0] === undefined) problem('kustomization', `objects span namespaces ${JSON.stringify([...namespaces])}; expected one`);
  const ns = [...namespaces][0];
  if (ns && !find(objs, 'Namespace', ns)) problem('kustomization', `no Namespace object for ${ns}`);

  // Secret and ConfigMap references resolve.
  for (const o of objs) {
    const spec = podSpec(o);
    for (const c of [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])] as Any[]) {
      for (const e of c.env ?? []) {
        const ref = e.valueFrom?.secretKeyRef;
        if (ref && !secrets.get(ref.name)?.has(ref.key)) problem(o, `container ${c.name} env ${e.name}: secret ${ref.name} has no key ${ref.key}`);
        const cm = e.valueFrom?.configMapKeyRef;
        if (cm && !(cm.key in (configMaps.get(cm.name) ?? {}))) problem(o, `container ${c.name} env ${e.name}: configmap ${cm.name} has no key ${cm.key}`);
      }
      for (const ef of c.envFrom ?? []) {
        if (ef.configMapRef && !configMaps.has(ef.configMapRef.name)) problem(o, `container ${c.name} envFrom: no ConfigMap ${ef.configMapRef.name}`);
        if (ef.secretRef && !secrets.has(ef.secretRef.name)) problem(o, `container ${c.name} envFrom: no Secret ${ef.secretRef.name}`);
      }
      const volumes = new Set<string>((spec?.volumes ?? []).map((v: Any) => v.name));
      for (const t of (o.spec as Any)?.volumeClaimTemplates ?? []) volumes.add(t.metadata.name);
      for (const vm of c.volumeMounts ?? []) if (!volumes.has(vm.name)) problem(o, `container ${c.name} mounts ${vm.name}, which is not a volume`);
      // Non-root and no privilege escalation, for every container of ours and of the overlays.
      const runAsNonRoot = c.securityContext?.runAsNonRoot ?? spec?.securityContext?.runAsNonRoot;
      if (runAsNonRoot !== true) problem(o, `container ${c.name}: runAsNonRoot is not true`);
      if (c.securityContext?.allowPrivilegeEscalation !== false) problem(o, `container ${c.name}: allowPrivilegeEscalation is not false`);
    }
    for (const v of spec?.volumes ?? []) {
      const claim = v.persistentVolumeClaim?.claimName;
      if (claim && !find(objs, 'PersistentVolumeClaim', claim)) problem(o, `volume ${v.name}: no PersistentVolumeClaim ${claim}`);
      const cm = v.configMap?.name;
      if (cm && !configMaps.has(cm)) problem(o, `volume ${v.name}: no ConfigMap ${cm}`);
    }
    if (o.kind === 'TriggerAuthentication') {
      for (const r of (o.spec as Any)?.secretTargetRef ?? []) {
        if (!secrets.get(r.name)?.has(r.key)) problem(o, `secretTargetRef ${r.parameter}: secret ${r.name} has no key ${r.key}`);
      }
    }
  }

  // Images: one tag for all kvbench images of an overlay; each component runs its own image.
  const imageOf = (name: string) => {
    const d = find(objs, 'Deployment', name);
    const img = d && podSpec(d)?.containers?.[0]?.image;
    return typeof img === 'string' ? parseImage(img) : undefined;
  };
  const expected = opts.images ?? { web: 'kvbench/web', worker: 'kvbench/worker', workerGpu: 'kvbench/worker-gpu' };
  const tags = new Set<string | undefined>();
  const expectImage = (deployment: string, name: string) => {
    const img = imageOf(deployment);
    if (!img) return problem(`Deployment/${deployment}`, 'missing, or has no image');
    if (img.name !== name && !img.name.endsWith(`/${name}`)) problem(`Deployment/${deployment}`, `image ${img.name}, expected ${name}`);
    tags.add(img.digest ?? img.tag);
  };
  expectImage('web', expected.web);

  // The web app: probes on /api/health at the port the image listens on, reachable through the Service.
  const web = find(objs, 'Deployment', 'web');
  const webC = web && podSpec(web)?.containers?.[0];
  if (web && webC) {
    for (const probe of ['readinessProbe', 'livenessProbe'] as const) {
      const g = webC[probe]?.httpGet;
      if (!g) problem(web, `${probe} is not an httpGet`);
      else {
        if (g.path !== WEB_HEALTH_PATH) problem(web, `${probe} path ${g.path}, expected ${WEB_HEALTH_PATH}`);
        const port = resolvePort(webC, g.port);
        if (port === undefined) problem(web, `${probe} port ${g.port} is not a container port`);
        else if (opts.webPort !== undefined && port !== opts.webPort) problem(web, `${probe} port ${port}, the image listens on ${opts.webPort}`);
      }
    }
    const portEnv = (webC.env ?? []).find((e: Any) => e.name === 'PORT')?.value;
    if (opts.webPort !== undefined && portEnv !== undefined && Number(portEnv) !== opts.webPort) problem(web, `env PORT=${portEnv}, the image listens on ${opts.webPort}`);
  }
  const svc = find(objs, 'Service', 'web');
  if (!svc) problem('Service/web', 'missing');
  else if (webC) {
    const p = (svc.spec as Any).ports?.[0];
    if (resolvePort(webC, p?.targetPort ?? p?.port) !== resolvePort(webC, 'http')) problem(svc, `targetPort ${p?.targetPort} is not the web container's http port`);
  }
  for (const ing of objs.filter((o) => o.kind === 'Ingress')) {
    for (const rule of (ing.spec as Any).rules ?? []) {
      for (const p of rule.http?.paths ?? []) {
        const s = p.backend?.service;
        const target = s && find(objs, 'Service', s.name);
        if (!target) problem(ing, `backend service ${s?.name} does not exist`);
        else if (!((target.spec as Any).ports ?? []).some((sp: Any) => (s.port.name !== undefined ? sp.name === s.port.name : sp.port === s.port.number))) {
          problem(ing, `backend port ${JSON.stringify(s.port)} is not a port of Service/${s.name}`);
        }
      }
    }
  }

  // The queue prefix the triggers use is the one the app uses.
  const prefix = (configMaps.get('kvbench-config') ?? {}).KVBENCH_QUEUE_PREFIX ?? DEFAULT_QUEUE_PREFIX;
  if (prefix !== DEFAULT_QUEUE_PREFIX) problem('ConfigMap/kvbench-config', `KVBENCH_QUEUE_PREFIX ${prefix} differs from the workers' default ${DEFAULT_QUEUE_PREFIX}; keda.yaml names the keys`);

  // One worker Deployment per device class, scaled by one ScaledObject on that class's queue.
  for (const d of DEVICE_CLASSES) {
    const name = `worker-${d.name}`;
    const w = find(objs, 'Deployment', name);
    if (!w) {
      problem(`Deployment/${name}`, `missing (device class ${d.name})`);
      continue;
    }
    expectImage(name, d.kind === 'gpu' ? expected.workerGpu : expected.worker);
    const spec = podSpec(w)!;
    const c = spec.containers?.[0] ?? {};
    const env = new Map<string, Any>((c.env ?? []).map((e: Any) => [e.name, e]));
    if (env.get('KVBENCH_DEVICE_CLASS')?.value !== d.name) problem(w, `env KVBENCH_DEVICE_CLASS is ${env.get('KVBENCH_DEVICE_CLASS')?.value}, expected ${d.name}`);
    for (const s of ['REDIS_URL', 'DATABASE_URL', 'KVBENCH_API_TOKEN']) if (!env.get(s)?.valueFrom?.secretKeyRef) problem(w, `env ${s} is not taken from a Secret`);
    if ((w.spec as Any).replicas !== undefined) problem(w, 'sets spec.replicas; KEDA owns the replica count (a re-apply would reset it)');

    const grace = spec.terminationGracePeriodSeconds;
    const maxJob = Number(w.metadata.annotations?.[MAX_JOB_ANNOTATION]);
    if (!Number.isFinite(maxJob) || maxJob <= 0) problem(w, `annotation ${MAX_JOB_ANNOTATION} must give the longest job in seconds`);
    else if (!(grace > maxJob)) problem(w, `terminationGracePeriodSeconds ${grace} is not longer than one job (${maxJob} s): SIGTERM drains the running job`);

    const limits = c.resources?.limits ?? {};
    const requests = c.resources?.requests ?? {};
    if (d.kind === 'gpu') {
      if (String(limits['nvidia.com/gpu']) !== '1') problem(w, `limits nvidia.com/gpu is ${limits['nvidia.com/gpu']}, expected 1`);
      if (requests['nvidia.com/gpu'] !== undefined && String(requests['nvidia.com/gpu']) !== String(limits['nvidia.com/gpu'])) problem(w, 'requests nvidia.com/gpu differs from limits');
      const placed = Object.keys(spec.nodeSelector ?? {}).length > 0 || spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
      if (!placed) problem(w, 'no nodeSelector or required node affinity for its GPU pool');
      if (!(spec.tolerations ?? []).some((t: Any) => t.key === 'nvidia.com/gpu')) problem(w, 'no toleration for nvidia.com/gpu taints');
    } else if (limits['nvidia.com/gpu'] !== undefined || requests['nvidia.com/gpu'] !== undefined) {
      problem(w, 'a CPU class requests a GPU');
    }

    const sos = objs.filter((o) => o.kind === 'ScaledObject' && (o.spec as Any)?.scaleTargetRef?.name === name);
    if (sos.length !== 1) {
      problem(`Deployment/${name}`, `${sos.length} ScaledObjects target it, expected 1`);
      continue;
    }
    const so = sos[0];
    const ss = so.spec as Any;
    if ((ss.scaleTargetRef.kind ?? 'Deployment') !== 'Deployment') problem(so, `scaleTargetRef.kind ${ss.scaleTargetRef.kind}`);
    if ((ss.minReplicaCount ?? 0) !== 0) problem(so, `minReplicaCount ${ss.minReplicaCount}: the class should scale to zero`);
    if (!(ss.maxReplicaCount >= 1)) problem(so, `maxReplicaCount ${ss.maxReplicaCount}`);
    if (!(ss.cooldownPeriod > 0)) problem(so, 'cooldownPeriod must be set');
    const triggers = (ss.triggers ?? []) as Any[];
    const api = triggers.find((t) => t.type === 'metrics-api');
    if (!api) problem(so, 'no metrics-api trigger on the backlog (waiting + prioritized + active)');
    else {
      let url: URL | undefined;
      try {
        url = new URL(api.metadata.url);
      } catch {
        problem(so, `metrics-api url ${api.metadata.url} is not a URL`);
      }
      if (url) {
        const webPort = svc && (svc.spec as Any).ports?.[0]?.port;
        if (url.hostname !== `web.${ns}.svc.cluster.local`) problem(so, `metrics-api url host ${url.hostname}, expected web.${ns}.svc.cluster.local (KEDA runs in its own namespace)`);
        if (Number(url.port || 80) !== webPort) problem(so, `metrics-api url port ${url.port}, Service/web listens on ${webPort}`);
        if (url.pathname !== backlogPath(d.name)) problem(so, `metrics-api url path ${url.pathname}, expected ${backlogPath(d.name)}`);
      }
      if (api.metadata.valueLocation !== 'backlog') problem(so, `metrics-api valueLocation ${api.metadata.valueLocation}, expected backlog`);
      if (Number(api.metadata.targetValue) !== 1) problem(so, `metrics-api targetValue ${api.metadata.targetValue}: one job per pod at concurrency 1`);
    }
    for (const t of triggers.filter((x) => x.type === 'redis')) {
      const want = `${prefix}:${d.name}:wait`;
      if (t.metadata.listName !== want) problem(so, `redis listName ${t.metadata.listName}, expected ${want} (BullMQ's waiting list of this queue)`);
      if (t.authenticationRef && !find(objs, 'TriggerAuthentication', t.authenticationRef.name)) problem(so, `authenticationRef ${t.authenticationRef.name} does not exist`);
    }
  }
  if (tags.size > 1) problem('kustomization', `kvbench images run different tags: ${JSON.stringify([...tags])}`);

  for (const so of objs.filter((o) => o.kind === 'ScaledObject')) {
    const target = (so.spec as Any)?.scaleTargetRef?.name;
    if (!find(objs, 'Deployment', target)) problem(so, `scaleTargetRef ${target} is not a Deployment here`);
  }

  // Redis, where the overlay runs one: BullMQ's production settings.
  const redis = find(objs, 'StatefulSet', 'redis');
  if (redis) {
    const conf = Object.values(configMaps.get('redis-config') ?? {}).join('\n') + '\n' + JSON.stringify(podSpec(redis)?.containers?.[0]?.args ?? []);
    if (!/maxmemory-policy[\s"',]+noeviction/.test(conf)) problem(redis, 'maxmemory-policy is not noeviction (an evicted key is a lost job)');
    if (!/appendonly[\s"',]+yes/.test(conf)) problem(redis, 'appendonly is not yes');
    if (!((redis.spec as Any).volumeClaimTemplates ?? []).length) problem(redis, 'no volumeClaimTemplates: the AOF would not survive a restart');
  }
  const pg = find(objs, 'StatefulSet', 'postgres');
  if (pg && !((pg.spec as Any).volumeClaimTemplates ?? []).length) problem(pg, 'no volumeClaimTemplates');
  return out;
}

/** The part of GJSON path syntax a plain field path uses: dot-separated keys, `\\.` for a literal dot. */
export function gjsonGet(doc: unknown, path: string): unknown {
  const keys = path.split(/(?<!\\)\./).map((k) => k.replace(/\\\./g, '.'));
  return keys.reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), doc);
}
