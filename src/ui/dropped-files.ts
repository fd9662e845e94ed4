// Files out of a drop: plain files, or the contents of a dropped folder (read through the entries API,
// since DataTransfer.files lists a folder as one empty item).

interface Dropped {
  files: File[];
  /** The dropped folder's name, when a folder was dropped. */
  folder?: string;
}

function readAll(reader: FileSystemDirectoryReader): Promise<FileSystemEntry[]> {
  // readEntries returns at most ~100 entries per call: read until it returns none.
  return new Promise((resolve, reject) => {
    const out: FileSystemEntry[] = [];
    const next = () =>
      reader.readEntries((batch) => {
        if (batch.length === 0) return resolve(out);
        out.push(...batch);
        next();
      }, reject);
    next();
  });
}

async function filesIn(entry: FileSystemEntry): Promise<File[]> {
  if (entry.isFile) return [await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject))];
  const children = await readAll((entry as FileSystemDirectoryEntry).createReader());
  return (await Promise.all(children.map(filesIn))).flat();
}

async function droppedFiles(data: DataTransfer): Promise<Dropped> {
  // Entries must be taken synchronously, before the drop event's data store closes.
  const entries = Array.from(data.items, (item) => item.webkitGetAsEntry?.() ?? null);
  const folder = entries.find((e) => e?.isDirectory);
  if (folder) return { files: await filesIn(folder), folder: folder.name };
  return { files: Array.from(data.files) };
}

/** A model folder has a config.json (and weights) in it. */
function isModelFolder(files: File[]): boolean {
  return files.some((f) => f.name === 'config.json');
}

/** What a drop means, wherever it lands: a model folder opens the model, anything else is the video. */
export async function routeDrop(
  data: DataTransfer,
  to: { modelFolderOpened(name: string, files: File[]): void; videoChosen(file: File): void },
): Promise<void> {
  const { files, folder } = await droppedFiles(data);
  if (isModelFolder(files)) to.modelFolderOpened(folder ?? 'dropped model', files);
  else if (files[0]) to.videoChosen(files[0]);
}

/** The folder name of files picked with <input webkitdirectory> (their path starts with it). */
export function pickedFolderName(files: File[]): string {
  return files[0]?.webkitRelativePath.split('/')[0] || 'local model';
}
