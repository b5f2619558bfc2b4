/**
 * The Node.js flags Hookline runs with, wherever it runs: `npm start`, `npm run
 * start:prod` and the Dockerfile's CMD (node-flags.spec keeps them equal), and the
 * processes the bench, the soak and the fault tests start.
 *
 * `--max-semi-space-size=64` (MB; Node's default is 16): the webhook path allocates a
 * lot of short-lived memory, and with a larger young generation fewer of those objects
 * live through a scavenge (docs/decisions/0006-node-semi-space-64.md).
 */
export const NODE_FLAGS = ['--max-semi-space-size=64'] as const;
