/**
 * The Node.js flags Hookline runs with, wherever it runs: `npm start`, `npm run
 * start:prod` and the Dockerfile's CMD (node-flags.spec keeps them equal), and the
 * processes the bench, the soak and the fault tests start.
 *
 * `--max-semi-space-size=64` (MB; Node's default is 16): the webhook path allocates a
 * lot of short-lived memory (request bodies, the rows of an applying batch, log lines),
 * and with a larger young generation fewer of those objects live through a scavenge.
 * Measured with the bench's drain (2 vCPUs, Node 20, alternating runs): worker CPU per
 * event applied 52–59 µs against 63–70 µs, garbage collection in the receiver's profile
 * under the ingest load 8 % of its time against 11 %; the worker's peak RSS in that
 * drain 383 MB against 269 MB.
 */
export const NODE_FLAGS = ['--max-semi-space-size=64'] as const;
