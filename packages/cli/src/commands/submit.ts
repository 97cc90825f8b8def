import { readFileSync } from 'node:fs';
import { bitsPair, defined, int, parse } from '../args';
import { UsageError, type Command } from '../command';
import { bytes } from '../format';
import { RUN_FLAGS, RUN_FLAGS_HELP, runFlagValues } from '../run-flags';
import { watchRun } from '../watch';

const command: Command = {
  summary: 'submit one run (model x benchmark x K/V bits)',
  usage: `kvbench submit --model stories260k --benchmark tinystories --bits K4V2 [options]
  --model NAME|PATH  --benchmark tinystories|wikitext2|gsm8k|hellaswag|arc-easy
  --bits K4V2 (K16V16 = full precision) or --key-bits N --value-bits N (not needed with --budget)
  --backend quanto|hqq|turbo  --group-size G (K and V) or --key-group-size G --value-group-size G
  --key-axis A --value-axis A (per-token|per-channel|quanto-per-channel|hqq-per-channel)  --residual R
${RUN_FLAGS_HELP}
  --config FILE   a JSON run config (flags override it)
  --wait          follow the run with a progress bar until it finishes
  --json          print the API response
examples:
  kvbench submit --model Llama-3.2-1B --benchmark wikitext2 --budget 4 --bit-range 1,1.58,2,4,6,8 --score spectral
  kvbench submit --model Llama-3.2-1B --benchmark wikitext2 --bits K3V3 --backend turbo --scheme KQV
  kvbench submit --model Llama-3.2-1B --benchmark wikitext2 --bits K4V2 --rotation hadamard --seed 1`,
  async run(argv, ctx) {
    const { values: v } = parse(argv, {
      model: { type: 'string' },
      benchmark: { type: 'string' },
      bits: { type: 'string' },
      'key-bits': { type: 'string' },
      'value-bits': { type: 'string' },
      backend: { type: 'string' },
      'group-size': { type: 'string' },
      'key-group-size': { type: 'string' },
      'value-group-size': { type: 'string' },
      'key-axis': { type: 'string' },
      'value-axis': { type: 'string' },
      residual: { type: 'string' },
      config: { type: 'string' },
      wait: { type: 'boolean' },
      json: { type: 'boolean' },
      ...RUN_FLAGS,
    }, false);
    const base = v.config ? (JSON.parse(readFileSync(v.config, 'utf8')) as Record<string, unknown>) : {};
    const [kb, vb] = v.bits ? bitsPair('bits', v.bits) : [int('key-bits', v['key-bits']), int('value-bits', v['value-bits'])];
    const group = int('group-size', v['group-size']);
    const body = {
      ...base,
      ...defined({
        model: v.model,
        benchmark: v.benchmark,
        keyBits: kb,
        valueBits: vb,
        backend: v.backend,
        keyGroupSize: int('key-group-size', v['key-group-size']) ?? group,
        valueGroupSize: int('value-group-size', v['value-group-size']) ?? group,
        keyAxis: v['key-axis'],
        valueAxis: v['value-axis'],
        residualLength: int('residual', v.residual),
        ...runFlagValues(v),
      }),
    };
    if (!body.model || !body.benchmark) throw new UsageError('--model and --benchmark are required');
    const api = ctx.api();
    const { status, data } = await api.request<Record<string, any>>('POST', '/api/runs', body);
    if (v.json) ctx.out(JSON.stringify(data, null, 2));
    else {
      const what = status === 201 ? 'queued' : data.reused ? 'already done (reused)' : `joined (${data.status})`;
      ctx.out(`run ${data.id} ${what}  hash ${String(data.hash).slice(0, 12)}  device class ${data.deviceClass}  KV ${bytes(data.plan?.kvBytesPerToken)}/token${data.plan?.kvNote?.startsWith('estimate') ? ' (estimate)' : ''}`);
      if (data.warning) ctx.err(`warning: ${data.warning}`);
    }
    return v.wait ? watchRun(api, ctx, data.id) : 0;
  },
};
export default command;
