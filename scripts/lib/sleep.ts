/** Resolves after `ms` milliseconds: the one sleep of the scripts and the tests. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
