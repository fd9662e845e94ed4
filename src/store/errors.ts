// Errors as the user sees them: what happened, and what to do about it. The worker says what kind of
// thing failed (protocol ErrorInfo kind); the advice depends on that and on what the user was doing.
import { InferenceError } from '../worker/client';
import type { ErrorInfo } from '../worker/protocol';

export interface AppError {
  kind: ErrorInfo['kind'];
  title: string;
  message: string;
  advice: string;
  /** A button the alert offers. */
  action?: 'reload-model';
}

const PICK_ANOTHER_MODEL = 'Pick a model served by this app (the “Served by this app” group of the model list) or open a local model folder; the app keeps working.';

function kindOf(e: unknown): ErrorInfo['kind'] {
  return e instanceof InferenceError ? e.kind : 'internal';
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export function isCancel(e: unknown): boolean {
  return kindOf(e) === 'cancelled' || (e instanceof DOMException && e.name === 'AbortError');
}

/** A model's files could not be downloaded (offline, or the server unreachable): the model itself may be fine. */
export function isDownloadFailure(e: unknown): boolean {
  return kindOf(e) === 'model' && /fetch|network|offline|HTTP|resolve/i.test(messageOf(e));
}

export function modelLoadError(e: unknown, modelName: string): AppError {
  const kind = kindOf(e);
  const message = messageOf(e);
  const title = `Could not load the model ${modelName}`;
  if (kind === 'gpu') return { kind, title, message, advice: `WebGPU failed while setting up the model. Try again, close other GPU-heavy tabs, or use a browser with WebGPU (Chrome or Edge 113+). ${PICK_ANOTHER_MODEL}` };
  if (kind === 'internal') return { kind, title, message, advice: 'The inference worker failed. Reload the page; if it happens again, please report it with this message.' };
  const advice = isDownloadFailure(e)
    ? `Its files could not be downloaded: you may be offline, or the server is unreachable. ${PICK_ANOTHER_MODEL}`
    : `The files do not look like a TimeSformer checkpoint (a config.json with model.safetensors or pytorch_model.bin). ${PICK_ANOTHER_MODEL}`;
  return { kind, title, message, advice };
}

export function classifyError(e: unknown, videoName: string): AppError {
  const kind = kindOf(e);
  const message = messageOf(e);
  switch (kind) {
    case 'video':
      return { kind, title: `Cannot use ${videoName}`, message, advice: 'Choose another file: an MP4, WebM or MKV video with H.264, VP9 or AV1 inside.' };
    case 'gpu':
      return { kind, title: 'The GPU failed while classifying', message, advice: 'Reload the model and try again.', action: 'reload-model' };
    default:
      return { kind, title: `Classifying ${videoName} failed`, message, advice: 'Try again; if it happens again, reload the page and please report it with this message.' };
  }
}

export function explainError(e: unknown, className: string): AppError {
  const kind = kindOf(e);
  const message = messageOf(e);
  const title = `Explaining “${className}” failed`;
  if (kind === 'gpu') return { kind, title, message, advice: 'Reload the model and try again.', action: 'reload-model' };
  if (kind === 'memory') return { kind, title, message, advice: 'The explanation shown is unchanged; a GPU with more memory (or a smaller model) can explain this clip.' };
  return { kind, title, message, advice: 'Try again, or pick another class; the classification itself is unchanged.' };
}

/** A GPU error outside a run (WebGPU's uncapturederror): the GPU's, whatever the user was doing. */
export function gpuError(message: string): AppError {
  return { kind: 'gpu', title: 'The GPU reported an error', message, advice: 'Results from now on may be wrong: reload the model; if it happens again, close other GPU-heavy tabs or reload the page.', action: 'reload-model' };
}

export function deviceLostError(message: string): AppError {
  return {
    kind: 'gpu',
    title: 'The GPU device was lost',
    message,
    advice: 'The browser took the GPU away (a driver reset, or too much memory in use). Reload the model to continue.',
    action: 'reload-model',
  };
}

export function unknownModelError(param: string): AppError {
  return { kind: 'model', title: `Unknown model “${param}”`, message: '?model= names neither a catalog entry, nor /models/<name>, nor a URL.', advice: PICK_ANOTHER_MODEL };
}
