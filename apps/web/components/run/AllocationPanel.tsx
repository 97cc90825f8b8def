// Budget mode: what the allocator chose per layer (bits and group sizes of K and V, from the layers'
// sensitivities) and what it costs as stored: kvbench's dense packing and HQQ's (1.58 -> 2, 3 -> 3.2, 5/6 -> 8).
import type { StoredAllocation } from '@kvbench/db';
import { num } from '../format';
import { KeyValues } from './KeyValues';

export function AllocationPanel({ allocation: a }: { allocation: StoredAllocation }) {
  const maxBits = Math.max(8, ...a.layers.flatMap((l) => [l.keyBits ?? 0, l.valueBits ?? 0]));
  const bar = (bits: number | null, colour: string) =>
    bits === null ? null : <span aria-hidden="true" className="alloc-bar" style={{ width: `${(bits / maxBits) * 4}rem`, background: colour }} />;
  return (
    <div className="stack">
      <div className="panel">
        <KeyValues
          label="Allocation summary"
          entries={[
            ['budget (mean nominal bits)', a.budget],
            ['allowed widths', a.bitRange.join(', ')],
            ['sensitivity', `${a.score} norms of ${a.source === 'cache' ? 'the cached K and V' : 'W_K and W_V'}`],
            ['group budget', a.groupBudget ?? 'none (every layer keeps the group size)'],
            ['nominal bits / element', num(a.nominalBits)],
            ['stored bits / element (kvbench packing)', num(a.storedBitsPerElement)],
            ['stored bits / element (HQQ packing)', num(a.storedBitsPerElementHqq)],
          ]}
        />
      </div>
      {a.layers.length ? (
        <div className="table-wrap">
          <table aria-label="Allocation per layer">
            <thead>
              <tr>
                <th scope="col">layer</th>
                <th scope="col" className="num">K bits</th>
                <th scope="col" className="num">V bits</th>
                <th scope="col" className="num">K group</th>
                <th scope="col" className="num">V group</th>
                <th scope="col" className="num">K sensitivity</th>
                <th scope="col" className="num">V sensitivity</th>
              </tr>
            </thead>
            <tbody>
              {a.layers.map((l) => (
                <tr key={l.layer} data-layer={l.layer}>
                  <td>L{l.layer}</td>
                  <td className="num" data-bits={l.keyBits ?? ''}>
                    {bar(l.keyBits, '#2456c9')} {num(l.keyBits)}
                  </td>
                  <td className="num" data-bits={l.valueBits ?? ''}>
                    {bar(l.valueBits, '#d97706')} {num(l.valueBits)}
                  </td>
                  <td className="num">{num(l.keyGroupSize)}</td>
                  <td className="num">{num(l.valueGroupSize)}</td>
                  <td className="num">{num(l.keySensitivity)}</td>
                  <td className="num">{num(l.valueSensitivity)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        <p className="muted">The allocation per layer was not recorded (the run has not finished, or failed).</p>
      )}
    </div>
  );
}
