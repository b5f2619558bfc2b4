import { takeSchemaReport } from '../utils/event-schemas.js';

// Every webhook the file's sinks received matched its event type's schema (test/utils/event-schemas.ts).
afterAll(() => {
  expect(takeSchemaReport().violations).toEqual([]);
});
