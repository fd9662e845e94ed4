// The model slice: the catalog, which model is loaded (or loading, with download progress), what it is,
// which backend runs it (chosen by the user, by ?backend=, or automatically), and which catalog entries are
// in the download cache.
import { isBackendChoice, type BackendChoice } from '../backends/choose';
import type { ModelInfo } from '../worker/protocol';
import { buildCatalog, cacheKeys, folderEntry, modelRef, readParams, resolveModelParam, type ModelEntry } from './catalog';
import { deviceLostError, gpuError, isCancel, isDownloadFailure, modelLoadError, unknownModelError, type AppError } from './errors';
import { progressed, type Progress, type ProgressEvent } from './progress';
import { patch, type SliceContext } from './types';

export type ModelStatus = 'idle' | 'loading' | 'ready' | 'failed' | 'lost';

export interface ModelState {
  catalog: ModelEntry[];
  /** The entry shown in the model panel. */
  selectedId: string | null;
  /** The entry loaded, or being loaded. */
  currentId: string | null;
  status: ModelStatus;
  progress: Progress | null;
  info: ModelInfo | null;
  loadMs: number | null;
  error: AppError | null;
  /** Catalog ids whose files are in Cache Storage. */
  cached: Record<string, boolean>;
  /** Entries whose engine-ready copy is kept: our engine loads them offline even without the cached files. */
  copies: Record<string, boolean>;
  /** The backend asked for ('auto' by default, or ?backend=); which one runs is `info.backend`. */
  backend: BackendChoice;
  /** Why the app started on entry `id` rather than the default model (shown while that entry is current). */
  notice: { id: string; message: string } | null;
}

export interface ModelActions {
  /** The page opened with `search` (?model=, ?hub=): build the catalog and load the model it names. */
  appStarted(search: string): Promise<void>;
  modelSelected(id: string): void;
  /**
   * Load an entry (the selected one by default), cancelling a load in progress. `fallback`: a served entry to
   * load instead, quietly, if this one's files cannot be downloaded (a first visit offline).
   */
  modelRequested(id?: string, fallback?: string): Promise<void>;
  modelFolderOpened(name: string, files: File[]): void;
  modelLoadProgressed(event: ProgressEvent): void;
  modelLoaded(info: ModelInfo, loadMs: number): void;
  modelLoadFailed(error: AppError): void;
  modelLoadCancelled(): void;
  modelEvicted(id: string): Promise<void>;
  cacheChanged(): Promise<void>;
  deviceLost(message: string): void;
  /** The user picked a backend: the model loads again on it. */
  backendChosen(choice: BackendChoice): Promise<void>;
  /** The loaded backend gives no attention maps: classify this clip once more with our engine, maps included. */
  engineAttentionRequested(): Promise<void>;
  /** A GPU error outside a run (uncapturederror). */
  gpuFailed(message: string): void;
  /** The worker died and was restarted; `reload` is the model loading again in the new one. */
  workerRestarted(message: string, reload: Promise<ModelInfo> | undefined): Promise<void>;
  modelErrorDismissed(): void;
}

export const initialModelState: ModelState = {
  catalog: [],
  selectedId: null,
  currentId: null,
  status: 'idle',
  progress: null,
  info: null,
  loadMs: null,
  error: null,
  cached: {},
  copies: {},
  backend: 'auto',
  notice: null,
};

export function modelActions(ctx: SliceContext): ModelActions {
  const { get, deps } = ctx;
  const model = (fields: Partial<ModelState>) => patch(ctx, 'model', fields);
  const actions = () => get().actions;

  return {
    async appStarted(search) {
      const params = readParams(search);
      const backend = new URLSearchParams(search).get('backend');
      if (isBackendChoice(backend)) model({ backend });
      // Without the index the hub models and URLs still work: note it, don't stop.
      const local = await deps.localModels().catch(() => []);
      const catalog = buildCatalog(local, params.hub);
      const entry = resolveModelParam(params.model, catalog);
      if (!entry) {
        model({ catalog, selectedId: catalog[0]?.id ?? null, status: 'failed', error: unknownModelError(params.model) });
        return;
      }
      model({ catalog: catalog.includes(entry) ? catalog : [...catalog, entry], selectedId: entry.id });
      void actions().cacheChanged();
      // The default model comes from the hub: offline, start on a served one rather than with an error.
      const chosen = new URLSearchParams(search).has('model');
      const served = catalog.find((e) => e.origin === 'app');
      await actions().modelRequested(entry.id, !chosen && entry.origin === 'hub' ? served?.id : undefined);
    },

    modelSelected(id) {
      model({ selectedId: id });
    },

    async modelRequested(id = get().model.selectedId ?? undefined, fallback) {
      const entry = get().model.catalog.find((e) => e.id === id);
      if (!entry) return;
      ctx.running.model?.abort();
      // A classification with the previous model is moot; it runs again once this one is ready.
      ctx.running.classify?.abort();
      get().actions.timelineCleared();
      const abort = (ctx.running.model = new AbortController());
      const current = () => ctx.running.model === abort;
      const started = deps.now();
      model({ selectedId: entry.id, currentId: entry.id, status: 'loading', progress: null, info: null, error: null, loadMs: null });
      actions().modelLoadStarted();
      try {
        const onProgress = (p: ProgressEvent) => current() && actions().modelLoadProgressed(p);
        const info = await ctx.client().loadModel(modelRef(entry, ctx.folders.get(entry.id)), onProgress, abort.signal, get().model.backend);
        if (current()) actions().modelLoaded(info, deps.now() - started);
      } catch (e) {
        if (!current() || isCancel(e)) return;
        const instead = fallback === undefined ? undefined : get().model.catalog.find((f) => f.id === fallback);
        if (!instead || !isDownloadFailure(e)) return actions().modelLoadFailed(modelLoadError(e, entry.name));
        ctx.running.model = undefined;
        model({ notice: { id: instead.id, message: `Started on ${instead.name}, served by this app: ${entry.name} could not be downloaded (you may be offline). Load it from the list once you are online.` } });
        return actions().modelRequested(instead.id);
      } finally {
        if (current()) ctx.running.model = undefined;
      }
    },

    modelFolderOpened(name, files) {
      const entry = folderEntry(name, files);
      ctx.folders.set(entry.id, files);
      const catalog = get().model.catalog.filter((e) => e.id !== entry.id);
      model({ catalog: [...catalog, entry], selectedId: entry.id });
      void actions().modelRequested(entry.id);
    },

    modelLoadProgressed(event) {
      const next = progressed(get().model.progress, event, deps.now());
      if (next) model({ progress: next });
    },

    modelLoaded(info, loadMs) {
      model({ status: 'ready', info, loadMs, progress: null, error: null });
      actions().modelLayersKnown(info.layers);
      void actions().cacheChanged();
      if (get().video.current) void actions().classificationRequested();
    },

    modelLoadFailed(error) {
      model({ status: 'failed', error, progress: null });
      actions().modelLoadAbandoned();
    },

    modelLoadCancelled() {
      ctx.running.model?.abort();
      ctx.running.model = undefined;
      model({ status: 'idle', currentId: null, progress: null });
      actions().modelLoadAbandoned();
    },

    async modelEvicted(id) {
      const entry = get().model.catalog.find((e) => e.id === id);
      if (!entry?.base) return;
      await deps.evict(entry.base);
      await actions().cacheChanged();
    },

    async cacheChanged() {
      const entries = get().model.catalog.filter((e) => e.base);
      const cached: Record<string, boolean> = {};
      const copies: Record<string, boolean> = {};
      const hasCopy = (await deps.engineReadyCopies?.(entries.map((e) => e.base!))) ?? [];
      await Promise.all(
        entries.map(async (e, i) => {
          const { config, weights } = cacheKeys(e, deps.pageUrl);
          const [hasConfig, ...hasWeights] = await deps.cached([config, ...weights]);
          cached[e.id] = hasConfig && hasWeights.some(Boolean);
          copies[e.id] = hasCopy[i] === true;
        }),
      );
      model({ cached, copies });
    },

    deviceLost(message) {
      actions().classificationInterrupted();
      actions().timelineCleared();
      model({ status: 'lost', error: deviceLostError(message), progress: null });
    },

    async backendChosen(choice) {
      model({ backend: choice });
      const id = get().model.currentId;
      if (id) await actions().modelRequested(id);
    },

    async engineAttentionRequested() {
      const { options } = get().inference;
      actions().classifyOptionsChanged({ attention: true, backend: 'wgsl' });
      // The request takes its options now; later classifications run on the chosen backend again.
      const running = actions().classificationRequested();
      actions().classifyOptionsChanged({ attention: options.attention, backend: undefined });
      await running;
    },

    gpuFailed(message) {
      model({ error: gpuError(message) });
    },

    async workerRestarted(_message, reload) {
      // The failed requests say what happened; the model comes back by itself, then the video is classified again.
      if (!reload || !get().model.currentId) return;
      const id = get().model.currentId;
      const started = deps.now();
      model({ status: 'loading', progress: null });
      try {
        const info = await reload;
        if (get().model.currentId === id) actions().modelLoaded(info, deps.now() - started);
      } catch (e) {
        const entry = get().model.catalog.find((x) => x.id === id);
        if (get().model.currentId === id && !isCancel(e)) actions().modelLoadFailed(modelLoadError(e, entry?.name ?? String(id)));
      }
    },

    modelErrorDismissed() {
      model({ error: null });
    },
  };
}
