'use client';
// The write token, asked once and kept for this browser session only (sessionStorage, never a cookie,
// so it is not sent with page requests and is gone when the tab closes).
import { useCallback, useEffect, useState } from 'react';

const KEY = 'kvbench.apiToken';

export function useApiToken(): { token: string | null; save(token: string): void; forget(): void } {
  const [token, setToken] = useState<string | null>(null);
  useEffect(() => {
    setToken(sessionStorage.getItem(KEY));
  }, []);
  const save = useCallback((t: string) => {
    sessionStorage.setItem(KEY, t);
    setToken(t);
  }, []);
  const forget = useCallback(() => {
    sessionStorage.removeItem(KEY);
    setToken(null);
  }, []);
  return { token, save, forget };
}
