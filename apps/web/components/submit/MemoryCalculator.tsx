// Live KV-memory figures for what the form describes: bytes per token, the share of fp16, the device
// class the planner picks, and the longest context each GPU class could hold.
import { bytes, num, percent } from '../format';
import type { MemoryRow } from './types';

function tokens(n: number | null): string {
  if (n === null) return 'does not fit';
  if (n >= 1e6) return `${num(n / 1e6, 3)}M`;
  if (n >= 1e3) return `${num(n / 1e3, 3)}k`;
  return String(n);
}

export function MemoryCalculator({ rows, omitted }: { rows: MemoryRow[]; omitted: number }) {
  if (!rows.length) return <p className="muted small">The memory figures appear once the form is valid.</p>;
  const classes = rows[0].maxContext.map((m) => m.deviceClass);
  return (
    <div className="table-wrap">
      <table className="calc" aria-label="KV memory per configuration">
        <thead>
          <tr>
            <th scope="col">Model</th>
            <th scope="col">Bits</th>
            <th scope="col" className="hide-phone">Quantizer</th>
            <th scope="col" className="num">KV bytes/token</th>
            <th scope="col" className="num">vs fp16</th>
            <th scope="col">Runs on</th>
            {classes.map((c) => (
              <th key={c} scope="col" className="num" title={`longest context (tokens, batch 1) that fits ${c}`}>
                max ctx {c}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={`${r.model}|${r.bits}|${r.quantizer}`}>
              <td>{r.model}</td>
              <td className="bits">{r.bits}</td>
              <td className="small hide-phone">{r.quantizer}</td>
              <td className="num">{num(r.kvBytesPerToken)}</td>
              <td className="num">{percent(r.kvBytesPerToken / r.fp16BytesPerToken)}</td>
              <td title={r.reason}>{r.deviceClass ?? <span className="delta-bad">none</span>}</td>
              {r.maxContext.map((m) => (
                <td key={m.deviceClass} className="num" title={`${bytes(m.memoryBytes)} class`}>
                  {tokens(m.tokens)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      {omitted ? <p className="small muted" style={{ margin: '0.3rem 0.5rem' }}>…and {omitted} more configurations.</p> : null}
    </div>
  );
}
