/** A CachePolicy (or a session option next to it) that cannot run; `field` names it ("cache.quant.key.bits"). */
export class CachePolicyError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'CachePolicyError';
  }
}
