"""A local, wire-faithful emulator of the Bitrix24, amoCRM and HubSpot REST APIs (demo, tests, benchmarks)."""
