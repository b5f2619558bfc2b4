// Every e2e test starts and stops real apps (each close drains its Bull queues, about a
// second); 15 s instead of jest's 5 s keeps a busy machine from failing them. Files that
// need longer set their own.
jest.setTimeout(15_000);
