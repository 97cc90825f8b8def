import { readFileSync } from 'node:fs';
import { bitsPair, defined, int, intList, parse, strList } from '../args';
import { UsageError, type Command } from '../command';
import { bytes, duration, table } from '../format';
import { RUN_FLAGS, RUN_FLAGS_HELP, runFlagValues } from '../run-flags';
import { watchSweep } from '../watch';

const command: Command = {
  summary: 'submit (or --preview) a grid of runs',
  usage: `kvbench sweep --models stories260k --benchmarks tinystories --pairs K4V4,K4V2,K2V4,K16V16 [options]
  --spec FILE        a JSON sweep spec (flags override it)
  --name NAME  --models A,B  --benchmarks A,B
  --pairs K4V2,...  or  --key-bits 2,4,8 --value-bits 2,4 (a grid)  or  --template NAME  or  --budget B (bits = round(B))
     templates: key-first (K x V in {2,3,4,8}); budget (budget 3, 4 x frobenius, spectral + uniform K3V3, K4V4);
                turbo (TurboQuant KV, KQV, QKQV x 2, 3, 4 bits + quanto K2V2, K3V3, K4V4)
  --backends quanto,hqq,turbo  --group-sizes 32,64 (K and V together) or --key-group-sizes / --value-group-sizes
  --key-axes A,B  --value-axes A,B  --residuals 0,128  --max-cells N
${RUN_FLAGS_HELP}
  --preview   show cells, those already done, device classes and estimated time; submit nothing
  --wait      follow the sweep until every cell finishes
  --json      print the API response`,
  async run(argv, ctx) {
    const { values: v } = parse(argv, {
      spec: { type: 'string' },
      name: { type: 'string' },
      models: { type: 'string' },
      benchmarks: { type: 'string' },
      pairs: { type: 'string' },
      template: { type: 'string' },
      'key-bits': { type: 'string' },
      'value-bits': { type: 'string' },
      backends: { type: 'string' },
      'group-sizes': { type: 'string' },
      'key-group-sizes': { type: 'string' },
      'value-group-sizes': { type: 'string' },
      'key-axes': { type: 'string' },
      'value-axes': { type: 'string' },
      residuals: { type: 'string' },
      'max-cells': { type: 'string' },
      preview: { type: 'boolean' },
      wait: { type: 'boolean' },
      json: { type: 'boolean' },
      ...RUN_FLAGS,
    }, false);
    const file = v.spec ? (JSON.parse(readFileSync(v.spec, 'utf8')) as Record<string, any>) : {};
    const spec = {
      ...file,
      ...defined({
        name: v.name,
        models: strList(v.models),
        benchmarks: strList(v.benchmarks),
        pairs: v.pairs ? v.pairs.split(',').map((p) => bitsPair('pairs', p)) : undefined,
        template: v.template,
        keyBits: intList('key-bits', v['key-bits']),
        valueBits: intList('value-bits', v['value-bits']),
        backends: strList(v.backends),
        groupSizes: intList('group-sizes', v['group-sizes']),
        keyGroupSizes: intList('key-group-sizes', v['key-group-sizes']),
        valueGroupSizes: intList('value-group-sizes', v['value-group-sizes']),
        keyAxes: strList(v['key-axes']),
        valueAxes: strList(v['value-axes']),
        residualLengths: intList('residuals', v.residuals),
        maxCells: int('max-cells', v['max-cells']),
      }),
      base: { ...(file.base ?? {}), ...defined(runFlagValues(v)) },
    };
    if (!spec.models || !spec.benchmarks) throw new UsageError('--models and --benchmarks are required (or --spec FILE)');
    const api = ctx.api();
    if (v.preview) {
      const { data } = await api.request<Record<string, any>>('POST', '/api/sweeps?preview=1', spec);
      if (v.json) ctx.out(JSON.stringify(data, null, 2));
      else {
        ctx.out(`${data.cells} cells (${data.alreadyDone} already done, ${data.inProgress} queued or running, ${data.toRun} to run; ${data.duplicates} duplicate grid points merged${data.skipped.length ? `, ${data.skipped.length} skipped` : ''})`);
        ctx.out(`estimated time: ${duration(data.estimatedSeconds)} of device time`);
        ctx.out(table(data.models.map((m: any) => ({ ...m, kv: m.kvBytesPerToken.map((b: number) => bytes(b)).join(' '), est: duration(m.estimatedSeconds), tps: `${Math.round(m.tokensPerSecond)}${m.measured ? '' : '?'}` })), [
          { key: 'model' }, { key: 'deviceClass', title: 'device class' }, { key: 'cells', align: 'right' }, { key: 'kv', title: 'KV/token' }, { key: 'tps', title: 'tok/s', align: 'right' }, { key: 'est', title: 'est. time', align: 'right' },
        ]));
        for (const u of data.unplaceable) ctx.err(`cannot place ${u.model}: ${u.reason}`);
      }
      return data.unplaceable?.length ? 1 : 0;
    }
    const { status, data } = await api.request<Record<string, any>>('POST', '/api/sweeps', spec);
    if (v.json) ctx.out(JSON.stringify(data, null, 2));
    else {
      ctx.out(`sweep ${data.id} ${status === 201 ? 'created' : 'exists'}: ${data.cells} cells, ${data.newRuns} new runs (${data.counts.succeeded} already done)`);
      if (data.warning) ctx.err(`warning: ${data.warning}`);
    }
    return v.wait ? watchSweep(api, ctx, data.id) : 0;
  },
};
export default command;
