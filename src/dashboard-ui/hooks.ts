import { useCallback, useEffect, useState } from 'preact/hooks';
import { api, describeError } from './api';
import type { Mode, Overview } from './api-types';

export interface Loaded<T> {
  data: T | undefined;
  error: string | null;
  loading: boolean;
  reload: () => void;
}

/** GET one API path and follow it when it changes; an answer for an older path is dropped. */
export function useApiGet<T>(path: string): Loaded<T> {
  const [state, setState] = useState<{ path: string; data?: T; error: string | null }>({ path, error: null });
  const [round, setRound] = useState(0);
  useEffect(() => {
    let current = true;
    api<T>('GET', path).then(
      (data) => current && setState({ path, data, error: null }),
      (err: unknown) => current && setState({ path, error: describeError(err) }),
    );
    return () => {
      current = false;
    };
  }, [path, round]);
  const reload = useCallback(() => setRound((n) => n + 1), []);
  const fresh = state.path === path;
  return {
    data: fresh ? state.data : undefined,
    error: fresh ? state.error : null,
    loading: !fresh || (state.data === undefined && state.error === null),
    reload,
  };
}

const currencies = new Map<Mode, Promise<string>>();

/** The merchant's currency in a mode (the overview's), to read amounts typed into the filters. */
export function useMerchantCurrency(mode: Mode): string | undefined {
  const [currency, setCurrency] = useState<string>();
  useEffect(() => {
    let promise = currencies.get(mode);
    if (!promise) {
      promise = api<Overview>('GET', `/${mode}/overview?days=1`).then((o) => o.currency);
      promise.catch(() => currencies.delete(mode));
      currencies.set(mode, promise);
    }
    let current = true;
    promise.then(
      (c) => current && setCurrency(c),
      () => undefined,
    );
    return () => {
      current = false;
    };
  }, [mode]);
  return currency;
}
