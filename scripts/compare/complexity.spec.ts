import { MANIFEST } from './complexity-manifest.js';
import { checkTests, codeLines, complexity } from './complexity.js';
import { parseTraffic } from './observe.js';
import { peakConcurrent } from './measure.js';

const ROOT = process.cwd();

describe('the complexity row', () => {
  it('names only files and covering tests that exist', () => {
    expect(() => checkTests(ROOT)).not.toThrow();
    const rows = complexity(ROOT);
    expect(rows.map((r) => r.scenario)).toEqual(MANIFEST.map((s) => s.scenario));
    for (const r of rows) expect(r.shopLines).toBeGreaterThan(0);
  });

  it('fails on a failure mode whose test is gone', () => {
    const gone = [
      {
        ...MANIFEST[0],
        failureModes: [{ failure: 'x', test: { file: 'test/e2e/polling.e2e-spec.ts', name: 'a test nobody wrote' } }],
      },
    ];
    expect(() => complexity(ROOT, gone)).toThrow('no test "a test nobody wrote"');
  });

  it('fails on a file that is gone', () => {
    expect(() => complexity(ROOT, [{ ...MANIFEST[0], failureModes: [], shopFiles: ['src/nope.ts'] }])).toThrow(
      'src/nope.ts does not exist',
    );
  });

  it('counts code lines, not blanks or comments', () => {
    expect(codeLines('// a\n\n/**\n * doc\n */\nconst a = 1;\n/* one */\nconst b = 2; // why\n')).toBe(2);
  });
});

describe('what the harness reads', () => {
  it('parses the HTTP traffic counters of /metrics', () => {
    const text = [
      '# HELP hookline_http_requests_total x',
      'hookline_http_requests_total{side="server",api="psp"} 12',
      'hookline_http_bytes_total{side="client",api="webhooks",direction="out"} 3456',
      'hookline_process_cpu_seconds_total 1',
    ].join('\n');
    expect(parseTraffic(text)).toEqual({
      requests: { 'server:psp': 12 },
      bytes: { 'client:webhooks:out': 3456 },
    });
  });

  it('finds the most intervals open at once, an end before a start at the same instant', () => {
    expect(
      peakConcurrent([
        [0, 10],
        [5, 15],
        [10, 20],
        [12, 13],
      ]),
    ).toBe(3);
  });
});
