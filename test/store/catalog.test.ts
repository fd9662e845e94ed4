import { describe, expect, it } from 'vitest';
import { buildCatalog, cacheKeys, isNonCommercial, readParams, resolveModelParam } from '../../src/store/catalog';
import { DEFAULT_MODEL_ID } from '../../src/hub/registry';

const local = [{ id: 'tiny-divided', name: 'tiny', path: '/models/tiny-divided/', frames: 4, imageSize: 64, labels: 10, licence: 'random weights' }];

describe('catalog and ?model=', () => {
  const catalog = buildCatalog(local);

  it('defaults to the default model', () => {
    expect(readParams('')).toEqual({ model: DEFAULT_MODEL_ID, hub: undefined });
    expect(readParams('?model=x&hub=http://h')).toEqual({ model: 'x', hub: 'http://h' });
  });

  it('finds entries by id and by served path', () => {
    expect(resolveModelParam('tiny-divided', catalog)?.origin).toBe('app');
    expect(resolveModelParam('/models/tiny-divided', catalog)?.id).toBe('tiny-divided');
    expect(resolveModelParam('/models/tiny-divided/', catalog)?.id).toBe('tiny-divided');
    expect(resolveModelParam('facebook/timesformer-hr-finetuned-k400', catalog)?.origin).toBe('hub');
  });

  it('makes an entry for other URLs and paths, and refuses names it does not know', () => {
    expect(resolveModelParam('https://example.org/m/', catalog)).toMatchObject({ id: 'https://example.org/m', base: 'https://example.org/m', name: 'm', origin: 'url' });
    expect(resolveModelParam('/models/other', catalog)).toMatchObject({ base: '/models/other', origin: 'url' });
    expect(resolveModelParam('nope', catalog)).toBeUndefined();
  });

  it('moves hub entries to ?hub=', () => {
    const entry = buildCatalog([], 'http://127.0.0.1:8000/').find((e) => e.id === DEFAULT_MODEL_ID)!;
    expect(entry.base).toBe(`http://127.0.0.1:8000/${DEFAULT_MODEL_ID}/resolve/main`);
    const keys = cacheKeys(entry, 'http://app/');
    expect(keys.config).toBe(`${entry.base}/config.json`);
    expect(keys.weights).toContain(`${entry.base}/pytorch_model.bin`);
  });

  it('keys cached local models by absolute URL, like the worker', () => {
    const keys = cacheKeys(catalog[0], 'http://127.0.0.1:4173/?model=x');
    expect(keys.config).toBe('http://127.0.0.1:4173/models/tiny-divided/config.json');
    expect(keys.weights[0]).toBe('http://127.0.0.1:4173/models/tiny-divided/model.safetensors');
  });

  it('flags non-commercial licences', () => {
    expect(isNonCommercial(catalog.find((e) => e.origin === 'hub')!)).toBe(true);
    expect(isNonCommercial(catalog[0])).toBe(false);
  });
});
