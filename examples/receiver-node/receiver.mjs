// A merchant's receiver of Hookline's webhooks, in one file: verify the signature on the
// raw body (standardwebhooks), apply each event once (deduplicated on webhook-id =
// event_id), answer fast, and catch up on whatever was missed from GET /events, starting
// from the cursor it kept. docs/receiving-hookline-webhooks.md walks through it.
//
//   HOOKLINE_WEBHOOK_SECRET=whsec_… HOOKLINE_API_KEY=<a shop key> node examples/receiver-node/receiver.mjs
//
// Environment: HOOKLINE_WEBHOOK_SECRET (the endpoint's secret), HOOKLINE_URL
// (http://127.0.0.1:3000), HOOKLINE_API_KEY (a shop key, for GET /events), PORT (4000; 0:
// any free port), STATE_FILE (./receiver-state.json: applied event ids and the cursor),
// CATCH_UP_INTERVAL_MS (60000; 0: only at start), EVENT_TYPES (order.*).
import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import { createServer } from 'node:http';
import { Webhook } from 'standardwebhooks';

const env = process.env;
const secret = env.HOOKLINE_WEBHOOK_SECRET;
if (!secret) throw new Error('Set HOOKLINE_WEBHOOK_SECRET to the endpoint secret (whsec_…)');
const hookline = env.HOOKLINE_URL ?? 'http://127.0.0.1:3000';
const apiKey = env.HOOKLINE_API_KEY;
const stateFile = env.STATE_FILE ?? 'receiver-state.json';
const catchUpEveryMs = Number(env.CATCH_UP_INTERVAL_MS ?? 60_000);
const types = env.EVENT_TYPES ?? 'order.*';
const webhook = new Webhook(secret);

// What was applied, and where GET /events should resume. A real receiver keeps both in its
// database, in the transaction that applies the event.
const state = loadState();

function loadState() {
  try {
    const saved = JSON.parse(readFileSync(stateFile, 'utf8'));
    return { applied: new Set(saved.applied), cursor: saved.cursor ?? null };
  } catch {
    return { applied: new Set(), cursor: null };
  }
}

function saveState() {
  const tmp = `${stateFile}.tmp`;
  writeFileSync(tmp, JSON.stringify({ applied: [...state.applied], cursor: state.cursor }));
  renameSync(tmp, stateFile);
}

function say(fields) {
  process.stdout.write(`${JSON.stringify(fields)}\n`);
}

/** Applies an event once, whether it came by webhook or from GET /events. */
function apply(event, via) {
  if (state.applied.has(event.event_id)) return false;
  // The shop's own work goes here: mark the order paid in the ERP, send the receipt, …
  state.applied.add(event.event_id);
  saveState();
  say({ applied: event.event_id, type: event.type, via });
  return true;
}

/** Reads GET /events from the kept cursor until it is up to date. */
async function catchUp() {
  if (!apiKey) return;
  for (;;) {
    const after = state.cursor ? `&after=${encodeURIComponent(state.cursor)}` : '';
    const res = await fetch(`${hookline}/events?limit=100&types=${encodeURIComponent(types)}${after}`, {
      headers: { authorization: `Bearer ${apiKey}` },
    });
    if (!res.ok) throw new Error(`GET /events answered ${res.status}: ${await res.text()}`);
    const page = await res.json();
    for (const event of page.data) apply(event, 'events-api');
    state.cursor = page.nextCursor;
    saveState();
    if (!page.hasMore) return;
  }
}

const server = createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== '/webhooks') {
    res.writeHead(404).end();
    return;
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    // Verify the raw bytes, never re-serialised JSON; verify() also refuses an old timestamp.
    const body = Buffer.concat(chunks).toString('utf8');
    let event;
    try {
      event = webhook.verify(body, req.headers);
    } catch (err) {
      say({ refused: req.headers['webhook-id'] ?? null, reason: err.message });
      res.writeHead(401).end();
      return;
    }
    apply(event, 'webhook');
    // Answer at once: anything slow belongs in a queue of the receiver's own.
    res.writeHead(204).end();
  });
});

let catchingUp = false;
function runCatchUp() {
  if (catchingUp) return;
  catchingUp = true;
  catchUp()
    .catch((err) => say({ catchUpFailed: err.message }))
    .finally(() => (catchingUp = false));
}

server.listen(Number(env.PORT ?? 4000), '127.0.0.1', () => {
  say({ listening: `http://127.0.0.1:${server.address().port}/webhooks` });
  runCatchUp();
  if (catchUpEveryMs > 0) setInterval(runCatchUp, catchUpEveryMs).unref();
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
