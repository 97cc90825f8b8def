import { Redis, type RedisOptions } from 'ioredis';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export function redisUrl(env: Record<string, string | undefined> = process.env): string {
  return env.REDIS_URL || DEFAULT_REDIS_URL;
}

/**
 * Workers wait for Redis forever (maxRetriesPerRequest: null, as BullMQ requires); producers
 * (the web app, the CLI through it) fail fast so a request never hangs on a dead Redis.
 */
export function redisConnection(role: 'worker' | 'producer', url = redisUrl(), extra: RedisOptions = {}): Redis {
  const options: RedisOptions =
    role === 'worker'
      ? { maxRetriesPerRequest: null, enableReadyCheck: true, ...extra }
      : { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 3000, ...extra };
  const redis = new Redis(url, options);
  redis.on('error', (err) => {
    // ioredis reconnects by itself; log once per distinct message instead of crashing the process.
    const key = `${role}:${err.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      console.error(`redis (${role}): ${err.message}`);
      setTimeout(() => seen.delete(key), 10_000).unref();
    }
  });
  return redis;
}
const seen = new Set<string>();
