import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CheckpointError } from './errors';
import { MAX_MODEL_FILE_BYTES, type ModelSource } from './source';

/** A model folder on disk (Node only: the CLI and tests). */
export function folderSource(dir: string): ModelSource {
  return {
    label: dir,
    async read(file) {
      const path = join(dir, file);
      const info = await stat(path).catch(() => undefined);
      if (!info?.isFile()) return undefined;
      if (info.size > MAX_MODEL_FILE_BYTES) throw new CheckpointError(`${path} is ${info.size} bytes, larger than the ${MAX_MODEL_FILE_BYTES}-byte limit`);
      const buf = await readFile(path);
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    },
  };
}
