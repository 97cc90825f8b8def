// The fleet simulation (scripts/fleet-sim.ts, test/fleet.test.ts). Not part of the worker's public
// surface: it imports the engine to generate models.
export * from './cells';
export * from './processes';
export * from './simulate';
