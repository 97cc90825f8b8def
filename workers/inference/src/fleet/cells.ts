// The fleet simulation's workload: stories260K and tiny random-weight Hugging Face models generated into
// a temp dir, some declared with large model shapes so that the memory planner routes them to the GPU
// classes while the files stay tiny (the planner reads `modelShape`; the worker loads the local path).
import path from 'node:path';
import { generateRandomModel, type TinyPresetName } from '@kvbench/engine';
import { expandSweep, planMemory, type DeviceClassName, type ModelShape, type Provider, type SweepExpansion, type SweepSpecInput } from '@kvbench/protocol';

export interface FleetModel {
  /** short name for tables */
  label: string;
  /** what the run config says: a known name or the generated directory */
  model: string;
  provider: Provider;
  modelShape?: ModelShape;
  /** the class the planner must pick (checked when the sweep is built) */
  deviceClass: DeviceClassName;
}

interface ModelRecipe {
  label: string;
  preset?: TinyPresetName;
  provider: Provider;
  modelShape?: ModelShape;
  deviceClass: DeviceClassName;
}

/** One or two models per class; the declared shapes are real published ones (or close) so the planner's numbers are realistic. */
const RECIPES: readonly ModelRecipe[] = [
  { label: 'stories260k', provider: 'cpu', deviceClass: 'cpu' },
  // no modelShape: a local path the planner cannot size goes to the provider's smallest class
  { label: 'tiny-llama-mha (local, shape unknown)', preset: 'tiny-llama-mha', provider: 'cpu', deviceClass: 'cpu' },
  { label: 'stories260k (cuda)', provider: 'cuda', deviceClass: 'gpu-24g' },
  { label: 'tiny-llama3-gqa as 8B', preset: 'tiny-llama3-gqa', provider: 'cuda', deviceClass: 'gpu-24g', modelShape: { layers: 32, kvHeads: 8, headDim: 128, params: 8.03e9, weightBytes: 2 } },
  { label: 'tiny-qwen3-qknorm as 32B', preset: 'tiny-qwen3-qknorm', provider: 'cuda', deviceClass: 'gpu-80g', modelShape: { layers: 64, kvHeads: 8, headDim: 128, params: 32.76e9, weightBytes: 2 } },
  { label: 'tiny-mistral as 60B', preset: 'tiny-mistral', provider: 'cuda', deviceClass: 'gpu-141g', modelShape: { layers: 80, kvHeads: 8, headDim: 128, params: 60e9, weightBytes: 2 } },
];

/** Writes the random-weight models for the classes that have workers; returns the models in use. */
export function prepareModels(modelsDir: string, classes: ReadonlySet<DeviceClassName>, seed: number): FleetModel[] {
  const out: FleetModel[] = [];
  for (const r of RECIPES) {
    if (!classes.has(r.deviceClass)) continue;
    let model = 'stories260k';
    if (r.preset) {
      model = path.join(modelsDir, r.preset);
      generateRandomModel({ preset: r.preset, outDir: model, seed });
    }
    out.push({ label: r.label, model, provider: r.provider, modelShape: r.modelShape, deviceClass: r.deviceClass });
  }
  return out;
}

/** Settings shared by every cell: one short document, a few seconds of work each. */
export interface CellLimits {
  prompt: number;
  maxTokens: number;
  limit: number;
}
export const DEFAULT_CELL_LIMITS: CellLimits = { prompt: 8, maxTokens: 24, limit: 1 };

// K16V16 first, then every quantized pair of 2..8 bits.
const PAIRS: [number, number][] = [[16, 16]];
for (let k = 8; k >= 2; k--) for (let v = 8; v >= 2; v--) PAIRS.push([k, v]);
const QUANT_PAIRS = PAIRS.slice(1);
// Group sizes divide every head size here (8 and 16); residual 0 and 8 change the cache policy.
const VARIANTS: { groupSize: number; residualLength: number }[] = [
  { groupSize: 8, residualLength: 8 },
  { groupSize: 4, residualLength: 8 },
  { groupSize: 8, residualLength: 0 },
  { groupSize: 4, residualLength: 0 },
];

export interface FleetSweep {
  model: FleetModel;
  spec: SweepSpecInput;
  expansion: SweepExpansion;
}

/**
 * Sweep specs (one per model and group-size/residual variant, as a person would submit them) whose cells
 * add up to exactly `cells`, spread evenly over the models. Every cell is checked to plan onto its
 * model's class.
 */
export function buildSweeps(models: FleetModel[], cells: number, seed: number, limits: CellLimits = DEFAULT_CELL_LIMITS): FleetSweep[] {
  if (!models.length) throw new Error('fleet: no models for the device classes given (--workers)');
  const capacity = PAIRS.length + (VARIANTS.length - 1) * QUANT_PAIRS.length;
  const out: FleetSweep[] = [];
  models.forEach((m, i) => {
    let share = Math.floor(cells / models.length) + (i < cells % models.length ? 1 : 0);
    if (share > capacity) throw new Error(`--cells: at most ${capacity * models.length} cells with ${models.length} models`);
    for (const [j, variant] of VARIANTS.entries()) {
      if (share <= 0) break;
      const pool = j === 0 ? PAIRS : QUANT_PAIRS; // K16V16 ignores group size and residual: only once
      const pairs = pool.slice(0, share);
      share -= pairs.length;
      const spec: SweepSpecInput = {
        name: `fleet-sim ${m.label} g${variant.groupSize} r${variant.residualLength}`,
        models: [m.model],
        ...(m.modelShape ? { modelShapes: { [m.model]: m.modelShape } } : {}),
        benchmarks: ['tinystories'],
        pairs,
        groupSizes: [variant.groupSize],
        residualLengths: [variant.residualLength],
        base: { ...limits, provider: m.provider, seed },
      };
      const expansion = expandSweep(spec);
      for (const c of expansion.cells) {
        const plan = planMemory(c.config);
        if (plan.deviceClass !== m.deviceClass) throw new Error(`fleet: ${m.label} planned for ${plan.deviceClass}, expected ${m.deviceClass} (${plan.reason})`);
      }
      out.push({ model: m, spec, expansion });
    }
  });
  const total = out.reduce((n, s) => n + s.expansion.cells.length, 0);
  if (total !== cells) throw new Error(`fleet: built ${total} cells, wanted ${cells}`);
  return out;
}
