// Things the store refers to by id only: classification results (ImageBitmaps, probability and attention
// Float32Arrays) and the chosen videos' Blobs. Kept out of zustand so that state updates never copy,
// compare or serialize megabytes, and so that the store can be inspected as plain data.

export class Registry<T> {
  private readonly items = new Map<number, T>();
  private nextId = 1;

  constructor(private readonly onRelease: (item: T) => void = () => {}) {}

  put(item: T): number {
    const id = this.nextId++;
    this.items.set(id, item);
    return id;
  }

  get(id: number | null | undefined): T | undefined {
    return id == null ? undefined : this.items.get(id);
  }

  /** Forget `id` and free what it holds (closes bitmaps); unknown ids are ignored. */
  release(id: number | null | undefined): void {
    const item = this.get(id);
    if (item === undefined) return;
    this.items.delete(id!);
    this.onRelease(item);
  }
}
