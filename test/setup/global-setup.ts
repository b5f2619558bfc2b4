import { dropWorkerDatabases } from '../utils/test-env'; // extensionless: globalSetup runs outside jest's module mapper;

/**
 * Every run starts from no test database at all: the first test app creates it and
 * runs the migrations through the same boot path as production (prepareDatabase).
 */
export default async function globalSetup(): Promise<void> {
  await dropWorkerDatabases();
}
