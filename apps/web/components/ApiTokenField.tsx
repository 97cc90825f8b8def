'use client';
// Where the write token is entered (once per browser session) or forgotten.
import { useId, useState } from 'react';

export function ApiTokenField({ token, onSave, onForget }: { token: string | null; onSave(t: string): void; onForget(): void }) {
  const [draft, setDraft] = useState('');
  const id = useId();
  if (token) {
    return (
      <p className="small muted" style={{ margin: 0 }}>
        API token saved for this browser session.{' '}
        <button type="button" className="secondary" onClick={onForget}>
          Forget token
        </button>
      </p>
    );
  }
  return (
    <div className="row">
      <label htmlFor={id}>
        API token (asked once, kept for this session)
        <input
          id={id}
          type="password"
          autoComplete="off"
          value={draft}
          onChange={(e) => setDraft(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && draft.trim()) {
              e.preventDefault();
              onSave(draft.trim());
            }
          }}
        />
      </label>
      <button type="button" className="secondary" disabled={!draft.trim()} onClick={() => onSave(draft.trim())}>
        Save token
      </button>
    </div>
  );
}
