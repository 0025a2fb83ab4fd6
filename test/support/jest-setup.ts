// Integration tests start service processes and wait for real brokers, so they get a longer timeout.
jest.setTimeout(180_000);
