/**
 * The simulator entry points the CLI uses, in one place (so a rename in src/sim is a
 * one-file change here).
 */
import { EXPERIMENTS } from '../sim/experiments.js';
import { runScenario } from '../sim/run-scenario.js';
import type { Scenario } from '../sim/scenario-types.js';

/** Names of the built-in experiments, in display order. */
export const EXPERIMENT_NAMES = Object.keys(EXPERIMENTS) as (keyof typeof EXPERIMENTS)[];
export type ExperimentName = keyof typeof EXPERIMENTS;
export type ExperimentOutput = ReturnType<(typeof EXPERIMENTS)[ExperimentName]>;
export type ScenarioOutput = ReturnType<typeof runScenario>;

export function isExperimentName(s: string): s is ExperimentName {
  return Object.prototype.hasOwnProperty.call(EXPERIMENTS, s);
}

/** Options of an experiment run. */
export interface ExperimentOptions {
  nodes?: number;
  seed: number;
  fanout?: number;
  lr?: number;
  lrDecay?: number;
  epochs?: number;
  onProgress?(fraction: number): void;
}

export function runExperiment(name: ExperimentName, o: ExperimentOptions): ExperimentOutput {
  const opts: ExperimentOptions = { seed: o.seed };
  if (o.nodes !== undefined) opts.nodes = o.nodes;
  if (o.fanout !== undefined) opts.fanout = o.fanout;
  if (o.lr !== undefined) opts.lr = o.lr;
  if (o.lrDecay !== undefined) opts.lrDecay = o.lrDecay;
  if (o.epochs !== undefined) opts.epochs = o.epochs;
  if (o.onProgress) opts.onProgress = o.onProgress;
  return EXPERIMENTS[name](opts);
}

export function runScenarioFile(s: Scenario, onProgress?: (fraction: number) => void): ScenarioOutput {
  return runScenario(s, onProgress);
}
