import { useEffect, useState } from 'react';

/** Whether the page shows the benchmark (`#bench`) rather than the classifier. */
export function useBenchRoute(): boolean {
  const [hash, setHash] = useState(() => location.hash);
  useEffect(() => {
    const changed = () => setHash(location.hash);
    window.addEventListener('hashchange', changed);
    return () => window.removeEventListener('hashchange', changed);
  }, []);
  return hash === '#bench';
}
