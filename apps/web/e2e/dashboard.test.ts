// The dashboard in a real browser against the real stack: Debian's Chromium, the Next.js production
// server, Postgres, Redis and a worker evaluating stories260K. One story, in order: bad input is
// refused with messages, a write without the right token is refused, a sweep submitted through the form
// completes live, its rows are found, filtered and sorted on the leaderboard, a run opens, the CSV holds
// what the table shows. Every page is photographed at desktop and phone width.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { markRunning, newRunRow, openDb, upsertRun, writeRunResult, type RunResultInput } from '@kvbench/db';
import { canonicalRun } from '@kvbench/protocol';
import { EXPORT_COLUMNS } from '../components/board-export';
import { DESKTOP, launchChromium, openPage, screenshotBoth, type WatchedPage } from './browser';
import { parseCsv } from './csv';
import { startStack, type Stack } from './stack';

const SHOTS = path.join(import.meta.dirname, 'screenshots');
const BITS = ['K2V2', 'K2V4', 'K4V2', 'K4V4'];

let stack: Stack;
let browser: Browser;
let context: BrowserContext;
let watched: WatchedPage;
let page: Page;
let sweepUrl = '';
const startedAt = Date.now();

/** Console errors of the page so far, minus those a step caused on purpose. */
const consoleErrors = () => watched.errors.filter((e) => !e.includes('__expected__'));

async function go(pathname: string) {
  await page.goto(`${stack.baseUrl}${pathname}`, { waitUntil: 'networkidle' });
}

async function textOf(selector: string): Promise<string> {
  return (await page.locator(selector).first().textContent()) ?? '';
}

async function waitForFieldError(name: string): Promise<string> {
  const error = page.locator(`#${name}-error`);
  await error.waitFor({ state: 'visible', timeout: 10_000 });
  return (await error.textContent()) ?? '';
}

async function boardBits(): Promise<string[]> {
  return page.locator('tbody tr[data-run] td:nth-child(2)').allTextContents();
}

async function boardValues(): Promise<number[]> {
  return (await page.locator('tbody tr[data-run] td[data-value]').evaluateAll((tds) => tds.map((td) => td.getAttribute('data-value')))).map(Number);
}

beforeAll(async () => {
  stack = await startStack();
  browser = await launchChromium();
  context = await browser.newContext({ viewport: DESKTOP, acceptDownloads: true });
  watched = await openPage(context);
  page = watched.page;
  page.setDefaultTimeout(20_000);
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await stack?.close();
  console.log(`e2e: ${((Date.now() - startedAt) / 1000).toFixed(0)} s in all (next build ${stack?.buildSeconds.toFixed(0) ?? '?'} s)`);
}, 60_000);

describe('dashboard in Chromium against the real stack', () => {
  it('submit form: inline validation messages from the shared schema, and the live KV-memory calculator', async () => {
    await go('/submit');
    await screenshotBoth(page, SHOTS, 'submit');
    // The defaults describe a valid 2x2 sweep of stories260k: the calculator shows its bytes per token.
    await page.locator('table[aria-label="KV memory per configuration"] tbody tr').first().waitFor();
    const calc = await page.locator('table[aria-label="KV memory per configuration"] tbody').textContent();
    for (const b of BITS) expect(calc).toContain(b);
    const k4v2 = await page.locator('table[aria-label="KV memory per configuration"] tbody tr', { hasText: 'K4V2' }).locator('td.num').first().textContent();
    expect(k4v2).toBe('280'); // 5 layers x 4 heads x 8 dims x (4 + 2 bits + 2 x 16/8 metadata bits) / 8

    await page.locator('input[name="limit"]').fill('0');
    expect(await waitForFieldError('limit')).toMatch(/>=\s*1|too small/i);
    await page.locator('input[name="groupSizes"]').fill('abc');
    expect(await waitForFieldError('groupSizes')).not.toBe('');
    await page.locator('fieldset[data-field="models"]').getByLabel('stories260k', { exact: true }).uncheck();
    expect(await waitForFieldError('models')).toMatch(/at least one/);
    expect(await waitForFieldError('limit')).toMatch(/>=\s*1|too small/i);
    expect(await page.getByRole('button', { name: 'Launch sweep' }).isDisabled()).toBe(true);
    // The sweep's own fields fail first (item limits are checked per cell, once the grid parses).
    expect(await page.locator('[aria-invalid="true"]').count()).toBeGreaterThanOrEqual(3);
    await screenshotBoth(page, SHOTS, 'submit-invalid');

    // Put it right: the messages go away and the form can launch again.
    await page.locator('fieldset[data-field="models"]').getByLabel('stories260k', { exact: true }).check();
    await page.locator('input[name="groupSizes"]').fill('8');
    await page.locator('input[name="limit"]').fill('2');
    await page.locator('#limit-error').waitFor({ state: 'hidden' });
    await page.getByRole('button', { name: 'Launch sweep' }).isEnabled();
    await page.waitForFunction(() => !(document.querySelector('button[type=submit]') as HTMLButtonElement)?.disabled);

    // float16 compute goes to the shared schema as computeDtype: accepted, no message (an unknown field would land here).
    const compute = page.locator('select[name="computeDtype"]');
    await compute.selectOption('float16');
    await page.waitForTimeout(600); // past the live check's 200 ms debounce and its answer
    expect(await page.locator('#computeDtype-error').isHidden()).toBe(true);
    expect(await page.getByRole('button', { name: 'Launch sweep' }).isDisabled()).toBe(false);
    await compute.selectOption('float32');
  });

  it('a write without the right token is refused (API and form)', async () => {
    const body = JSON.stringify({ model: 'stories260k', benchmark: 'tinystories', keyBits: 4, valueBits: 2, limit: 1 });
    const noToken = await fetch(`${stack.baseUrl}/api/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(noToken.status).toBe(401);
    const wrong = await fetch(`${stack.baseUrl}/api/sweeps`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer nope' }, body: '{}' });
    expect(wrong.status).toBe(401);

    await page.getByLabel(/API token/).fill('wrong-token');
    await page.getByRole('button', { name: 'Save token' }).click();
    const before = watched.errors.length;
    await page.getByRole('button', { name: 'Launch sweep' }).click();
    await page.getByText(/refused the API token/).waitFor();
    expect(page.url()).toMatch(/\/submit$/);
    // The browser logs the refused request (HTTP 401) as a console error: expected here.
    watched.errors.splice(before, watched.errors.length - before, ...watched.errors.slice(before).map((e) => `__expected__ ${e}`));
    // A refused token is forgotten, so the field asks again.
    await page.getByLabel(/API token/).waitFor();
  });

  it('previews and launches a sweep through the form, and watches it complete live', async () => {
    await page.getByRole('button', { name: 'Preview' }).click();
    const preview = page.getByTestId('preview');
    await preview.waitFor();
    const previewText = (await preview.textContent()) ?? '';
    expect(previewText).toContain('4 cells');
    expect(previewText).toContain('4 to run');
    expect(previewText).toContain('cpu');

    await page.getByLabel(/API token/).fill(stack.token);
    await page.getByRole('button', { name: 'Save token' }).click();
    await page.getByRole('button', { name: 'Launch sweep' }).click();
    await page.waitForURL(/\/sweeps\/[0-9a-f-]{36}$/, { timeout: 30_000 });
    sweepUrl = new URL(page.url()).pathname;
    // From here on nothing may reload the page: a marker on window must survive until the end.
    await page.evaluate(() => {
      const w = window as unknown as { __marker: string; __seen: string[] };
      w.__marker = 'same page';
      w.__seen = [];
      const record = () => document.querySelectorAll<HTMLElement>('[data-status]').forEach((e) => {
        if (!w.__seen.includes(e.dataset.status!)) w.__seen.push(e.dataset.status!);
      });
      record();
      new MutationObserver(record).observe(document.body, { subtree: true, childList: true, attributes: true });
    });
    expect(await page.locator('[data-status]').count()).toBe(4);
    try {
      await page.locator('[data-status="running"]').first().waitFor({ timeout: 60_000 });
      await screenshotBoth(page, SHOTS, 'sweep-running');
    } catch {
      // a fast machine may finish a cell between two looks; the final state is what must hold
    }
    await page.waitForFunction(() => /\b4\/4\b/.test(document.querySelector('[data-testid="sweep-counts"]')?.textContent ?? ''), null, { timeout: 180_000 });
    const state = await page.evaluate(() => {
      const w = window as unknown as { __marker: string; __seen: string[] };
      return { marker: w.__marker, seen: w.__seen };
    });
    expect(state.marker).toBe('same page');
    expect(state.seen).toContain('running');
    expect(state.seen).toContain('succeeded');
    expect(await textOf('[data-testid="sweep-counts"]')).toContain('4 succeeded');
    for (const b of BITS) expect(await page.locator(`[data-bits="${b}"][data-status="succeeded"]`).count()).toBe(1);
    await screenshotBoth(page, SHOTS, 'sweep');
  }, 300_000);

  it('finds the rows on the leaderboard, filters, searches and sorts them', async () => {
    await go('/?model=stories260k&benchmark=tinystories');
    expect((await boardBits()).sort()).toEqual(BITS);
    // K4V2 keeps its quality; K2V4, at the same memory, does not: the table and the heatmap say so.
    const values = new Map((await boardBits()).map((b, i) => [b, i]));
    const v = await boardValues();
    expect(v[values.get('K4V2')!]).toBeLessThan(v[values.get('K2V4')!]);
    await page.locator('figure[aria-label^="perplexity by key bits"] .recharts-wrapper > svg').waitFor();
    await page.locator('figure[aria-label^="perplexity vs KV memory"] .recharts-wrapper > svg').waitFor();
    const heatmap = (await page.locator('figure[aria-label^="perplexity by key bits"]').textContent()) ?? '';
    expect(heatmap).toMatch(/K4.*K2/);
    await screenshotBoth(page, SHOTS, 'leaderboard');

    // Filter through the form: the filter lands in the URL.
    await page.locator('input[name="bits"]').fill('K4V2');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/bits=K4V2/);
    expect(await boardBits()).toEqual(['K4V2']);

    // Free-text search.
    await go('/');
    await page.locator('input[name="q"]').fill('stories K2V4');
    await page.locator('input[name="q"]').press('Enter');
    await page.waitForURL(/q=stories/);
    expect(await boardBits()).toEqual(['K2V4']);

    // Sort by the metric with the header link (keyboard: it is a link), both directions.
    await go('/?model=stories260k');
    await page.getByRole('link', { name: /Metric ± stderr/ }).focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(/sort=score&order=asc/);
    const asc = await boardValues();
    expect(asc).toEqual([...asc].sort((a, b) => a - b));
    await page.getByRole('link', { name: /Metric ± stderr/ }).click();
    await page.waitForURL(/order=desc/);
    const desc = await boardValues();
    expect(desc).toEqual([...asc].reverse());
    expect((await boardBits())[0]).toBe('K2V2');
  });

  it('compares K4V2 with K2V4 in one click', async () => {
    await go('/?model=stories260k&benchmark=tinystories&bits=K4V2');
    await page.getByRole('link', { name: /compare K4V2 with K2V4/ }).click();
    await page.waitForURL(/\/compare\?/);
    expect(await page.getByTestId('compare-verdict').textContent()).toMatch(/same KV memory.*K4V2 is better/);
    await screenshotBoth(page, SHOTS, 'compare');
  });

  it('opens a run: metrics, provenance and config', async () => {
    await go('/?model=stories260k&benchmark=tinystories&bits=K4V2');
    await page.getByRole('link', { name: /run K4V2 of stories260k/ }).click();
    await page.waitForURL(/\/runs\/[0-9a-f-]{36}$/);
    expect(await textOf('h1')).toContain('K4V2');
    expect(Number(((await page.getByTestId('headline-value').textContent()) ?? '').split(/\s/)[0])).toBeGreaterThan(1);
    const provenance = (await page.locator('dl[aria-label="Provenance"]').textContent()) ?? '';
    expect(provenance).toContain('provider used');
    expect(provenance).toMatch(/model weights hash[0-9a-f]{16}/);
    expect(await page.locator('table[aria-label="Metrics"]').textContent()).toContain('perplexity');
    expect(await page.locator('table[aria-label="Samples"] tbody tr').count()).toBeGreaterThan(0);
    await screenshotBoth(page, SHOTS, 'run');
  });

  it('downloads the shown rows as CSV (and JSON) with the same content', async () => {
    await go('/?model=stories260k&benchmark=tinystories&sort=keyBits&order=asc');
    const shownBits = await boardBits();
    const shownValues = await boardValues();
    const [csvDownload] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download CSV' }).click()]);
    expect(csvDownload.suggestedFilename()).toMatch(/\.csv$/);
    const rows = parseCsv(await readFile((await csvDownload.path())!, 'utf8')).filter((r) => r.length > 1);
    expect(rows[0]).toEqual(EXPORT_COLUMNS);
    const records = rows.slice(1).map((r) => Object.fromEntries(EXPORT_COLUMNS.map((c, i) => [c, r[i]])));
    expect(records.map((r) => r.bits)).toEqual(shownBits);
    expect(records.map((r) => Number(r.value))).toEqual(shownValues);
    expect(new Set(records.map((r) => r.model))).toEqual(new Set(['stories260k']));
    const bytesOf: Record<string, number> = { K2V2: 240, K2V4: 280, K4V2: 280, K4V4: 320 };
    for (const r of records) expect(Number(r.kvBytesPerToken)).toBe(bytesOf[r.bits]);
    for (const r of records) {
      expect(r.metric).toBe('perplexity');
      expect(r.provider).toBe('cpu');
      expect(r.runId).toMatch(/^[0-9a-f-]{36}$/);
    }
    const [jsonDownload] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download JSON' }).click()]);
    const json = JSON.parse(await readFile((await jsonDownload.path())!, 'utf8')) as { bits: string; value: number }[];
    expect(json.map((r) => r.bits)).toEqual(shownBits);
    expect(json.map((r) => r.value)).toEqual(shownValues);
  });

  it('shows failure reasons from the worker, reruns failed cells and cancels a sweep', async () => {
    const post = async (spec: unknown) => {
      const res = await fetch(`${stack.baseUrl}/api/sweeps`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.token}` }, body: JSON.stringify(spec) });
      expect(res.status).toBeLessThan(300);
      return ((await res.json()) as { id: string }).id;
    };
    const missing = await post({ name: 'missing model', models: ['/tmp/kvbench-e2e-no-such-model.bin'], benchmarks: ['tinystories'], pairs: ['K4V2'], groupSizes: [8], residualLengths: [32], base: { limit: 1 } });
    await go(`/sweeps/${missing}`);
    await page.locator('[data-status="failed"]').waitFor({ timeout: 60_000 });
    expect(await page.locator('[data-status="failed"] .error').textContent()).toMatch(/does not exist/);
    await screenshotBoth(page, SHOTS, 'sweep-failed');
    await page.getByRole('button', { name: 'Rerun failed cells' }).click();
    await page.getByText(/Re-queued 1 cell/).waitFor();
    await page.locator('[data-status="failed"]').waitFor({ timeout: 60_000 }); // the same reason, again

    // Enough work that most of it is still queued when the button is pressed.
    const long = await post({ name: 'to cancel', models: ['stories260k'], benchmarks: ['tinystories'], pairs: ['K3V3', 'K3V2', 'K2V3'], groupSizes: [8], residualLengths: [32], base: { limit: 40 } });
    await go(`/sweeps/${long}`);
    await page.getByRole('button', { name: 'Cancel sweep' }).click();
    await page.getByText(/Cancelled \d cell/).waitFor();
    await page.waitForFunction(() => /0 queued · 0 running/.test(document.querySelector('[data-testid="sweep-counts"]')?.textContent ?? ''), null, { timeout: 60_000 });
    expect(await page.locator('[data-status="cancelled"]').count()).toBeGreaterThanOrEqual(2);
  }, 180_000);

  it('renders the model, sweeps and queue pages', async () => {
    await go('/models/stories260k');
    await page.locator('.recharts-wrapper > svg').first().waitFor();
    await screenshotBoth(page, SHOTS, 'model');
    await go('/sweeps');
    expect(await page.locator(`a[href="${sweepUrl}"]`).count()).toBe(1);
    await screenshotBoth(page, SHOTS, 'sweeps');
    await go('/admin/queue');
    expect(await page.locator('table[aria-label="Queue depth"] tbody tr').count()).toBeGreaterThan(0);
    expect(await page.locator('table[aria-label="Workers seen recently"] tbody td.mono').count()).toBeGreaterThan(0);
    await screenshotBoth(page, SHOTS, 'queue');
  });

  it("shows a budget run's allocation and the attention per layer on its run page", async () => {
    // Stored as the worker stores an engine result with an allocation (alloc.* and attn.* rows): the
    // engine's budget mode lands separately, the page only reads what is stored.
    const db = await openDb({ databaseUrl: stack.databaseUrl });
    const { config, hash } = canonicalRun({ model: 'stories260k', benchmark: 'tinystories', budget: 4, budgetScore: 'spectral', limit: 2 });
    const keyBits = [6, 4, 4, 8, 2];
    const valueBits = [2, 1.58, 4, 4, 2];
    const layerStats: RunResultInput['layerStats'] = [];
    keyBits.forEach((k, layer) => {
      const v = valueBits[layer];
      layerStats.push({ layer, tensor: 'k', metric: 'alloc.bits', value: k }, { layer, tensor: 'v', metric: 'alloc.bits', value: v });
      layerStats.push({ layer, tensor: 'k', metric: 'alloc.groupSize', value: 64 }, { layer, tensor: 'v', metric: 'alloc.groupSize', value: 64 });
      layerStats.push({ layer, tensor: 'k', metric: 'alloc.sensitivity', value: 5 - layer }, { layer, tensor: 'v', metric: 'alloc.sensitivity', value: 1 + layer / 10 });
      layerStats.push({ layer, tensor: 'k', metric: 'attn.klMean', value: 0.002 * (layer + 1) }, { layer, tensor: 'k', metric: 'attn.outputRelError', value: 0.05 }, { layer, tensor: 'v', metric: 'attn.outputRelError', value: 0.08 });
      layerStats.push({ layer, tensor: 'k', metric: 'relError', value: 0.1 }, { layer, tensor: 'v', metric: 'relError', value: 0.2 });
    });
    const result: RunResultInput = {
      metrics: [{ name: 'perplexity', value: 9.9 }, { name: 'alloc.nominalBits', value: 3.758 }, { name: 'alloc.storedBitsPerElement', value: 4.5 }, { name: 'alloc.storedBitsPerElementHqq', value: 5.3 }],
      primary: { name: 'perplexity', value: 9.9, stderr: null },
      layerStats,
      samples: [],
      kvBytesPerToken: 180, fp16BytesPerToken: 640, ratioToFp16: 180 / 640, peakRssBytes: 1e8, tokensPerSecond: 900, wallSeconds: 1,
      providerUsed: 'cpu', device: 'e2e', versions: {}, modelArchitecture: 'llama', weightsHash: 'w', dataHash: 'd', benchmarkItems: 2, nonFinite: 0,
    };
    let runId = '';
    try {
      // no device class: the reconciler leaves the row alone
      const { run } = await upsertRun(db.db, newRunRow(config, hash, null));
      runId = run.id;
      await markRunning(db.db, run.id, 'e2e');
      await writeRunResult(db.db, run.id, result);
    } finally {
      await db.close();
    }
    await go(`/runs/${runId}`);
    expect(await textOf('h1')).toContain('budget 4 (spectral)');
    const rows = page.locator('table[aria-label="Allocation per layer"] tbody tr');
    expect(await rows.count()).toBe(5);
    expect(await rows.nth(1).locator('td[data-bits]').evaluateAll((tds) => tds.map((td) => td.getAttribute('data-bits')))).toEqual(['4', '1.58']);
    expect(await textOf('dl[aria-label="Allocation summary"]')).toMatch(/stored bits \/ element \(HQQ packing\)5\.3/);
    await page.getByRole('heading', { name: 'Attention per layer' }).waitFor();
    const attention = page.locator('figure', { hasText: "each layer's attention" });
    expect(await attention.locator('select').inputValue()).toBe('attn.klMean');
    await attention.locator('.recharts-bar-rectangle').first().waitFor();
    await screenshotBoth(page, SHOTS, 'run-budget');
  });

  it('logged no console errors on any page', () => {
    expect(consoleErrors()).toEqual([]);
  });
});
