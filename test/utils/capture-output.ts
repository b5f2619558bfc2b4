import { coalescedStdout } from '../../src/logging/logging.js';

/**
 * Everything the process writes to stdout and stderr while `run` goes on, with the log
 * lines `run` left buffered (coalescedStdout writes them at the end of the turn).
 * `run` may look at what was written so far (to wait for a line).
 */
export async function captureOutput(run: (soFar: () => string) => Promise<void>): Promise<string> {
  const chunks: string[] = [];
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  const tap =
    (write: typeof out) =>
    (chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
      chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString());
      return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
    };
  process.stdout.write = tap(out);
  process.stderr.write = tap(err);
  try {
    await run(() => {
      coalescedStdout().flush();
      return chunks.join('');
    });
  } finally {
    coalescedStdout().flush();
    process.stdout.write = out;
    process.stderr.write = err;
  }
  return chunks.join('');
}

/** The JSON log lines in `output` (LOG_FORMAT=json), other lines left out. */
export function jsonLines(output: string): Record<string, unknown>[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        return undefined;
      }
    })
    .filter((line): line is Record<string, unknown> => line !== undefined);
}
