'use client';
// One run or a sweep grid. Every change is checked against the shared schema on the server (debounced),
// so messages and memory figures appear while typing; Preview asks the API what a launch would do.
import { useRouter } from 'next/navigation';
import { useEffect, useRef, useState, useTransition } from 'react';
import { checkSubmission } from '../../app/submit/actions';
import { ApiTokenField } from '../ApiTokenField';
import { callApi, writeError } from '../api-client';
import { useApiToken } from '../useApiToken';
import { ChoiceGroup } from './ChoiceGroup';
import { FieldMessage } from './FieldMessage';
import { budgetMode, INITIAL_FORM, issuesByControl, runInput, sweepSpec, type FormState } from './form-state';
import { MemoryCalculator } from './MemoryCalculator';
import { SweepPreviewPanel, type SweepPreview } from './SweepPreviewPanel';
import { TextField } from './TextField';
import type { CheckResult, FieldIssue } from './types';

export interface SubmitOptions {
  models: { name: string; note: string }[];
  benchmarks: { name: string; protocol: string }[];
  bits: number[];
  backends: string[];
  axes: string[];
  providers: string[];
  computeDtypes: string[];
  rotations: string[];
  turboSchemes: string[];
  budgetScores: string[];
  budgetSources: string[];
  /** the allocator's default widths, shown as the bit range's placeholder */
  defaultBitRange: number[];
}

export function SubmitForm({ options }: { options: SubmitOptions }) {
  const router = useRouter();
  const { token, save, forget } = useApiToken();
  const [form, setForm] = useState<FormState>(INITIAL_FORM);
  const [check, setCheck] = useState<CheckResult | null>(null);
  const [serverIssues, setServerIssues] = useState<FieldIssue[]>([]);
  const [preview, setPreview] = useState<SweepPreview | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [busy, startBusy] = useTransition();
  const sequence = useRef(0);
  const single = form.mode === 'single';

  // Live check: the latest answer wins, older ones arriving late are dropped.
  useEffect(() => {
    const n = ++sequence.current;
    const timer = setTimeout(async () => {
      const result = await checkSubmission(form.mode, form.mode === 'single' ? runInput(form) : sweepSpec(form));
      if (n === sequence.current) setCheck(result);
    }, 200);
    return () => clearTimeout(timer);
  }, [form]);

  const set = <K extends keyof FormState>(key: K, value: FormState[K]) => {
    setForm((f) => ({ ...f, [key]: value }));
    setPreview(null);
    setServerIssues([]);
    setMessage(null);
  };
  const setMode = (mode: FormState['mode']) => {
    setForm((f) => {
      if (mode === f.mode) return f;
      if (mode === 'sweep') return { ...f, mode };
      const first = (xs: string[]) => xs.slice(0, 1);
      const firstOfList = (s: string) => s.split(',')[0]?.trim() ?? '';
      return { ...f, mode, models: first(f.models), benchmarks: first(f.benchmarks), keyBits: first(f.keyBits), valueBits: first(f.valueBits), backends: first(f.backends), keyAxes: first(f.keyAxes), valueAxes: first(f.valueAxes), groupSizes: firstOfList(f.groupSizes), residualLengths: firstOfList(f.residualLengths) };
    });
    setPreview(null);
    setServerIssues([]);
  };

  const issues = [...(check?.issues ?? []), ...serverIssues];
  const { byControl, other } = issuesByControl(issues);
  const valid = check !== null && check.issues.length === 0;

  const doPreview = () =>
    startBusy(async () => {
      setMessage(null);
      const r = await callApi<SweepPreview>('POST', '/api/sweeps?preview=1', sweepSpec(form));
      if (r.ok) setPreview(r.body);
      else {
        setServerIssues(r.body.issues ?? []);
        setMessage(r.body.issues ? 'The server found problems with this submission.' : writeError(r));
      }
    });

  const doLaunch = () =>
    startBusy(async () => {
      setMessage(null);
      if (!token) {
        setMessage('Enter the API token first: launching needs it.');
        return;
      }
      const r = single ? await callApi<{ id: string }>('POST', '/api/runs', runInput(form), token) : await callApi<{ id: string }>('POST', '/api/sweeps', sweepSpec(form), token);
      if (r.ok) {
        router.push(single ? `/runs/${r.body.id}` : `/sweeps/${r.body.id}`);
        return;
      }
      if (r.status === 401) forget();
      setServerIssues(r.body.issues ?? []);
      setMessage(r.body.issues ? 'The server found problems with this submission.' : writeError(r));
    });

  const bitOptions = options.bits.map((b) => ({ value: String(b), label: b === 16 ? '16 (fp)' : String(b) }));
  const budget = budgetMode(form);
  const turbo = form.backends.includes('turbo');
  const select = (name: keyof FormState & string, label: string, values: string[], hint?: string) => (
    <label>
      {label}
      <select name={name} value={form[name] as string} onChange={(e) => set(name, e.target.value as never)} aria-invalid={byControl[name] ? true : undefined} aria-describedby={byControl[name] ? `${name}-error` : undefined} title={hint}>
        {values.map((v) => (
          <option key={v}>{v}</option>
        ))}
      </select>
      <FieldMessage id={`${name}-error`} message={byControl[name]} />
    </label>
  );
  return (
    <form
      className="stack"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        doLaunch();
      }}
      aria-label="Submit a run or a sweep"
    >
      <fieldset className="panel">
        <legend>What to submit</legend>
        <div className="checks">
          <label className="inline">
            <input type="radio" name="mode" value="single" checked={single} onChange={() => setMode('single')} /> one run
          </label>
          <label className="inline">
            <input type="radio" name="mode" value="sweep" checked={!single} onChange={() => setMode('sweep')} /> a sweep (every combination of the choices)
          </label>
        </div>
        {!single ? <TextField label="sweep name (optional)" name="name" value={form.name} size={28} inputMode="text" error={byControl.name} onChange={(v) => set('name', v)} /> : null}
      </fieldset>

      <div className="grid-2">
        <div className="stack">
          <ChoiceGroup legend={single ? 'model' : 'models'} name="models" multiple={!single} options={options.models.map((m) => ({ value: m.name, label: m.name }))} selected={form.models} error={byControl.models} onChange={(v) => set('models', v)} />
          <ChoiceGroup legend={single ? 'benchmark' : 'benchmarks'} name="benchmarks" multiple={!single} options={options.benchmarks.map((b) => ({ value: b.name, label: `${b.name} (${b.protocol})` }))} selected={form.benchmarks} error={byControl.benchmarks} onChange={(v) => set('benchmarks', v)} />
          {budget ? (
            <p className="muted small" data-testid="budget-bits-note">
              Budget mode: the allocator picks b_K and b_V per layer; the run is listed at round(budget) = {Number.isFinite(Math.round(Number(form.budget))) ? Math.round(Number(form.budget)) : '?'} bits.
            </p>
          ) : (
            <>
              <ChoiceGroup legend="key bits b_K" name="keyBits" multiple={!single} options={bitOptions} selected={form.keyBits} error={byControl.keyBits} onChange={(v) => set('keyBits', v)} />
              <ChoiceGroup legend="value bits b_V" name="valueBits" multiple={!single} options={bitOptions} selected={form.valueBits} error={byControl.valueBits} onChange={(v) => set('valueBits', v)} />
            </>
          )}
        </div>
        <div className="stack">
          <ChoiceGroup legend={single ? 'backend' : 'backends'} name="backends" multiple={!single} options={options.backends.map((b) => ({ value: b }))} selected={form.backends} error={byControl.backends} onChange={(v) => set('backends', v)} />
          <ChoiceGroup legend="key axis" name="keyAxes" multiple={!single} options={options.axes.map((a) => ({ value: a }))} selected={form.keyAxes} error={byControl.keyAxes} onChange={(v) => set('keyAxes', v)} />
          <ChoiceGroup legend="value axis" name="valueAxes" multiple={!single} options={options.axes.map((a) => ({ value: a }))} selected={form.valueAxes} error={byControl.valueAxes} onChange={(v) => set('valueAxes', v)} />
          <fieldset>
            <legend>sizes and items</legend>
            <div className="row">
              <TextField label={single ? 'group size' : 'group sizes (comma-separated)'} name="groupSizes" value={form.groupSizes} hint="64" error={byControl.groupSizes} onChange={(v) => set('groupSizes', v)} />
              <TextField label={single ? 'residual length' : 'residual lengths'} name="residualLengths" value={form.residualLengths} hint="128" error={byControl.residualLengths} onChange={(v) => set('residualLengths', v)} />
              <TextField label="items (limit)" name="limit" value={form.limit} hint="20" size={6} error={byControl.limit} onChange={(v) => set('limit', v)} />
              <TextField label="prompt tokens" name="prompt" value={form.prompt} hint="64" size={6} error={byControl.prompt} onChange={(v) => set('prompt', v)} />
              <TextField label="max tokens" name="maxTokens" value={form.maxTokens} hint="256" size={6} error={byControl.maxTokens} onChange={(v) => set('maxTokens', v)} />
              <label>
                provider
                <select name="provider" value={form.provider} onChange={(e) => set('provider', e.target.value)} aria-invalid={byControl.provider ? true : undefined}>
                  {options.providers.map((p) => (
                    <option key={p}>{p}</option>
                  ))}
                </select>
              </label>
              {select('computeDtype', 'compute', options.computeDtypes, "the model's arithmetic: float16 as GPUs serve models (part of the run's config)")}
            </div>
          </fieldset>
          <fieldset>
            <legend>rotation, TurboQuant and bit budget</legend>
            <div className="row">
              {select('rotation', 'rotation', options.rotations, 'hadamard: a seeded randomized Walsh-Hadamard rotation of each head vector before quanto/hqq')}
              {turbo ? select('turboScheme', 'TurboQuant scheme', options.turboSchemes, 'KV: MSE on both; KQV: MSE on K, MSE+QJL on V; QKQV: MSE+QJL on both') : null}
              <TextField label="bit budget (avg bits)" name="budget" value={form.budget} hint="none" size={6} error={byControl.budget} onChange={(v) => set('budget', v)} />
              {budget ? (
                <>
                  <TextField label="allowed widths" name="bitRange" value={form.bitRange} hint={options.defaultBitRange.join(',')} size={14} inputMode="text" error={byControl.bitRange} onChange={(v) => set('bitRange', v)} />
                  {select('budgetScore', 'sensitivity norm', options.budgetScores)}
                  {select('budgetSource', 'norms of', options.budgetSources, 'weights: W_K / W_V; cache: the cached K / V on a sample of the run')}
                  <TextField label="group budget" name="groupBudget" value={form.groupBudget} hint="none" size={6} error={byControl.groupBudget} onChange={(v) => set('groupBudget', v)} />
                </>
              ) : null}
            </div>
          </fieldset>
        </div>
      </div>

      {other.length ? (
        <div className="errors" role="alert">
          Problems:
          <ul>
            {other.map((i) => (
              <li key={`${i.field}|${i.message}`}>
                {i.field ? <code>{i.field}</code> : null} {i.message}
              </li>
            ))}
          </ul>
        </div>
      ) : null}

      <section className="panel" aria-labelledby="calc-h">
        <h2 id="calc-h" style={{ marginTop: 0 }}>
          KV memory {check?.cells ? <span className="muted small">({check.cells} cell{check.cells === 1 ? '' : 's'}{check.skipped.length ? `, ${check.skipped.length} grid points skipped` : ''})</span> : null}
        </h2>
        <MemoryCalculator rows={valid ? check.memory : []} omitted={valid ? check.memoryOmitted : 0} />
      </section>

      {preview ? <SweepPreviewPanel preview={preview} /> : null}

      <section className="panel stack" aria-label="Launch">
        <ApiTokenField token={token} onSave={save} onForget={forget} />
        <div className="row">
          <button type="button" className="secondary" disabled={!valid || busy} onClick={doPreview}>
            Preview
          </button>
          <button type="submit" disabled={!valid || busy}>
            {single ? 'Launch run' : 'Launch sweep'}
          </button>
          {busy ? <span className="muted small">working…</span> : null}
        </div>
        {message ? (
          <p className="errors" role="alert">
            {message}
          </p>
        ) : null}
      </section>
    </form>
  );
}
