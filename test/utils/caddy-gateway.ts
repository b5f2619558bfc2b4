import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { freePort } from '../../scripts/lib/free-port.js';
import { sleep } from '../../scripts/lib/sleep.js';
import type { CertFiles } from './test-pki.js';

const CADDYFILE = join(__dirname, '..', '..', 'Caddyfile');

export interface Gateway {
  url: string;
  /** An undici Agent that trusts the test CA, for requests through the gateway. */
  agent: Agent;
  output: () => string;
  stop(): Promise<void>;
}

/**
 * Runs Debian's `caddy` with the repository's Caddyfile (as the compose `gateway` service
 * does) on a loopback port (a free one unless given), with `cert` for 127.0.0.1, in front of `upstreams`
 * (host:port). Resolves once a request through it reaches a ready upstream.
 */
export async function startGateway(
  cert: CertFiles,
  caFile: string,
  upstreams: string[],
  port?: number,
): Promise<Gateway> {
  if (spawnSync('caddy', ['version']).error) {
    throw new Error("caddy is not installed: the gateway test runs Debian's (apt-get install caddy; .ci/run does)");
  }
  port ??= await freePort();
  const home = mkdtempSync(join(tmpdir(), 'hookline-caddy-'));
  const child = spawn('caddy', ['run', '--config', CADDYFILE, '--adapter', 'caddyfile'], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: home,
      XDG_DATA_HOME: join(home, 'data'),
      XDG_CONFIG_HOME: join(home, 'config'),
      HOOKLINE_GATEWAY_SITES: `https://127.0.0.1:${port}`,
      HOOKLINE_GATEWAY_TLS: `${cert.cert} ${cert.key}`,
      HOOKLINE_API_UPSTREAMS: upstreams.join(' '),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  let gone = false;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => (gone = true));
  const agent = new Agent({ connect: { ca: readFileSync(caFile, 'utf8') } });
  const gateway: Gateway = {
    url: `https://127.0.0.1:${port}`,
    agent,
    output: () => out,
    async stop() {
      if (!gone) child.kill('SIGTERM');
      await exited;
      await agent.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (gone) throw new Error(`caddy exited:\n${out.slice(-4000)}`);
    try {
      const res = await request(`${gateway.url}/health/ready`, { dispatcher: agent });
      await res.body.text();
      if (res.statusCode === 200) return gateway;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) {
      await gateway.stop();
      throw new Error(`caddy not routing within 20 s:\n${out.slice(-4000)}`);
    }
    await sleep(100);
  }
}
