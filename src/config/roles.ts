import type { AppRole } from './env.js';

/** `api`: the shop's HTTP API and the webhook receiver. */
export const hasHttpApi = (role: AppRole) => role === 'all' || role === 'api';
/** `worker`: queue processors and scheduled tasks of the shop. */
export const runsWorkers = (role: AppRole) => role === 'all' || role === 'worker';
/** `psp`: the PSP mock — its API, its settlement and its webhook sender. */
export const runsPsp = (role: AppRole) => role === 'all' || role === 'psp';
