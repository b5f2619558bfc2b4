import { coalescingDestination } from './logging.js';

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('coalescingDestination', () => {
  it('writes the lines of one event-loop turn in one call, in order, when the turn ends', async () => {
    const writes: string[] = [];
    const destination = coalescingDestination((text) => writes.push(text));
    destination.write('{"n":1}\n');
    destination.write('{"n":2}\n');
    destination.write('{"n":3}\n');
    expect(writes).toEqual([]);
    await nextTurn();
    expect(writes).toEqual(['{"n":1}\n{"n":2}\n{"n":3}\n']);
  });

  it('gives each later turn its own write', async () => {
    const writes: string[] = [];
    const destination = coalescingDestination((text) => writes.push(text));
    destination.write('a\n');
    await nextTurn();
    destination.write('b\n');
    await nextTurn();
    expect(writes).toEqual(['a\n', 'b\n']);
  });

  it('writes at once on flush(), and an empty flush writes nothing', async () => {
    const writes: string[] = [];
    const destination = coalescingDestination((text) => writes.push(text));
    destination.write('before exit\n');
    destination.flush();
    expect(writes).toEqual(['before exit\n']);
    await nextTurn();
    destination.flush();
    expect(writes).toEqual(['before exit\n']);
  });
});
