import { emptyTestDatabase } from '../utils/test-env.js';

// Every e2e and fault suite starts from empty tables (emptyTestDatabase says why).
beforeAll(() => emptyTestDatabase());
