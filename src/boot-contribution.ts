import type { Env } from './config/env.js';

/** A provider bootstrap.ts tells when the process starts draining (SIGTERM/SIGINT). */
export interface OnDrain {
  /** Called before the listener closes: e.g. answer held long polls now rather than hold the drain. */
  onDrain(): void;
}

/**
 * What a feature adds to the process that bootstrap.ts builds around Nest: its Swagger
 * security schemes, its lines in the startup log, the providers to tell when draining.
 * AppModule gathers them, so bootstrap.ts knows no feature.
 */
export interface BootContribution {
  /** Bearer schemes its routes name (`@RequireKey(name)`), added to the OpenAPI document after the shop's and admin's. */
  bearerSchemes?: { name: string; description: string }[];
  /** Its entries of the OpenAPI document's `webhooks` section (the document is then OpenAPI 3.1). */
  openApiWebhooks?: () => Record<string, unknown>;
  /** Its lines of the startup log, after the shared ones; `url` is the address this process listens on. */
  startupLines?: (env: Env, url: string) => string[];
  /** Providers told when the drain starts; a role that does not run the feature has none of them. */
  onDrain?: (abstract new (...args: never[]) => OnDrain)[];
}
