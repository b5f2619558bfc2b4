import {
  activeTraceparent,
  contextFrom,
  formatTraceparent,
  linksTo,
  parseTraceparent,
  startChildSpan,
} from './trace-context';

const TP = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

describe('trace context', () => {
  it('reads and writes W3C traceparent', () => {
    const sc = parseTraceparent(TP)!;
    expect(sc).toMatchObject({
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      isRemote: true,
    });
    expect(formatTraceparent(sc)).toBe(TP);
    expect(formatTraceparent({ ...sc, traceFlags: 0 })).toBe(TP.replace(/01$/, '00'));
  });

  it('refuses what is not one (all-zero ids, another version, garbage)', () => {
    expect(parseTraceparent(null)).toBeNull();
    expect(parseTraceparent('00-00000000000000000000000000000000-b7ad6b7169203331-01')).toBeNull();
    expect(parseTraceparent('01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01')).toBeNull();
    expect(parseTraceparent('nope')).toBeNull();
    expect(contextFrom('nope')).toBeNull();
    expect(linksTo(undefined)).toEqual([]);
  });

  it('without the SDK (tracing off) there is no active span and no child span is started', () => {
    expect(activeTraceparent()).toBeNull();
    expect(startChildSpan('x', null, {})).toBeNull();
    // A stored context still yields a (non-recording) span: nothing is exported without the SDK.
    expect(startChildSpan('x', TP, {})?.isRecording()).toBe(false);
  });
});
