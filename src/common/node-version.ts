/** Oldest Node.js the service runs on: NestJS 12 is ESM-only and is loaded through require(esm). */
export const MIN_NODE_VERSION = [24, 9, 0] as const;

/** Calls `fail` with a message naming the fix when this Node.js is older than MIN_NODE_VERSION. */
export function checkNodeVersion(fail: (message: string) => never, version = process.versions.node): void {
  const parts = version.split('.').map(Number);
  for (let index = 0; index < MIN_NODE_VERSION.length; index++) {
    if (parts[index] > MIN_NODE_VERSION[index]) {
      return;
    }
    if (parts[index] < MIN_NODE_VERSION[index]) {
      fail(
        `Node.js ${version} is too old; ${MIN_NODE_VERSION.join('.')} or newer is required. ` +
          'Run `npm ci` and start through `make run`, which puts the node@24 package from node_modules/.bin first in PATH.',
      );
    }
  }
}
