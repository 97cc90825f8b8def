// The cells of one setting block laid out as a b_K x b_V matrix, so K4V2 and K2V4 sit mirror-wise.
import { SweepCellCard } from './SweepCellCard';
import type { SweepCell } from './types';

export function CellMatrix({ cells, label }: { cells: SweepCell[]; label: string }) {
  const keyBits = [...new Set(cells.map((c) => c.keyBits))].sort((a, b) => b - a);
  const valueBits = [...new Set(cells.map((c) => c.valueBits))].sort((a, b) => a - b);
  const at = new Map(cells.map((c) => [`${c.keyBits}/${c.valueBits}`, c]));
  return (
    <div className="matrix-wrap">
      <div className="matrix" role="grid" aria-label={label} style={{ gridTemplateColumns: `2.6rem repeat(${valueBits.length}, minmax(9.5rem, 15rem))` }}>
        <div role="row" style={{ display: 'contents' }}>
          <span role="columnheader" className="matrix-corner muted small">
            K \ V
          </span>
          {valueBits.map((v) => (
            <span key={v} role="columnheader" className="matrix-head">
              V{v}
            </span>
          ))}
        </div>
        {keyBits.map((k) => (
          <div key={k} role="row" style={{ display: 'contents' }}>
            <span role="rowheader" className="matrix-head">
              K{k}
            </span>
            {valueBits.map((v) => {
              const cell = at.get(`${k}/${v}`);
              return (
                <div key={v} role="gridcell">
                  {cell ? <SweepCellCard cell={cell} /> : <div className="cell cell-empty" aria-label="not in this sweep" />}
                </div>
              );
            })}
          </div>
        ))}
      </div>
    </div>
  );
}
