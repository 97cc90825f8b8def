// The command registry. A command is a module in this folder whose default export is a Command;
// register it with one line here (loaded lazily, so `kvbench eval` pulling in the engine costs the
// HTTP commands nothing). The engine engineer adds: eval: () => import('./eval'),
import type { Command } from '../command';

export const COMMANDS: Record<string, () => Promise<{ default: Command }>> = {
  submit: () => import('./submit'),
  sweep: () => import('./sweep'),
  status: () => import('./status'),
  cancel: () => import('./cancel'),
  'rerun-failed': () => import('./rerun-failed'),
  leaderboard: () => import('./leaderboard'),
  export: () => import('./export'),
  health: () => import('./health'),
  eval: () => import('./eval'),
  analyze: () => import('./analyze'),
  report: () => import('./report'),
};
