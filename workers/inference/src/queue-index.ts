// The queue client alone (no engine import): what the web app and scripts use.
export * from './queue';
export * from './redis';
export * from './reconcile';
