// The inference scheduler: which request uses the GPU next. DOM-free (tested in Node: test/worker/).
//
// A request is a *task* with a purpose and a priority. Its body may do anything (open a video, decode,
// preprocess) beside other tasks, but every model run goes through `task.gpu(work)`: one GPU run at a time,
// the highest priority waiting first (live > user > background), first come first served within one.
// Between two runs of a long task (a timeline's windows) a more urgent one goes ahead.
//
// Every submitted task ends one way, and says which: its promise resolves (completed), rejects with its
// body's error (failed), or rejects with a `TaskEnded` whose `outcome` is 'replaced' (a newer task with the
// same purpose arrived, or the model it ran on was replaced) or 'cancelled' (its signal was aborted). A task
// ends at once when replaced or cancelled: a GPU run it had started finishes before the next run starts, and
// its result is dropped.
//
// Submitting a live camera clip (src/live/), inside the worker, through the InferenceService (service.ts)
// that owns this scheduler, the device and the loaded backend:
//
//   const outputs = await service.scheduler.submit({ purpose: 'live:camera', priority: 'live', signal }, async (task) => {
//     const { backend } = await service.use(task);            // the loaded model (waits for a load in progress)
//     const clip = ...;                                       // preprocess, e.g. a FrameStore on service.runtime()
//     return service.runClip(task, backend, clip, shape, { attention: false });  // queued for the GPU by priority
//   });
//
// Each new clip for 'live:camera' replaces the previous one if that has not finished, so a slow GPU drops
// frames instead of falling behind. Catch `TaskEnded` (outcome 'replaced') for the dropped ones.

export type Priority = 'live' | 'user' | 'background';

/** Lower runs first. */
const RANK: Record<Priority, number> = { live: 0, user: 1, background: 2 };

export type Outcome = 'completed' | 'failed' | 'replaced' | 'cancelled';

/** A task that did not run to its end: replaced by a newer one, or cancelled. */
export class TaskEnded extends Error {
  override name = 'TaskEnded';
  constructor(
    readonly outcome: 'replaced' | 'cancelled',
    message: string,
  ) {
    super(message);
  }
}

export interface TaskOptions {
  /** What the task is for: a newer task with the same purpose replaces this one ('classify', 'timeline', 'live:camera'). */
  purpose: string;
  priority: Priority;
  /** Aborting it cancels the task. */
  signal?: AbortSignal;
}

export interface Task {
  readonly purpose: string;
  readonly priority: Priority;
  /** Aborted (with a TaskEnded as its reason) when the task is replaced or cancelled. */
  readonly signal: AbortSignal;
  /** Run `work` when the GPU is this task's turn; rejects with the TaskEnded if the task ends while waiting. */
  gpu<T>(work: () => Promise<T>): Promise<T>;
}

interface Turn {
  rank: number;
  order: number;
  start(): void;
}

export class Scheduler {
  /** The running (not yet ended) task of each purpose. */
  private readonly active = new Map<string, { task: Task; controller: AbortController }>();
  private readonly waiting: Turn[] = [];
  private running = false;
  private order = 0;

  submit<T>(options: TaskOptions, body: (task: Task) => Promise<T>): Promise<T> {
    const { purpose, priority } = options;
    if (!(priority in RANK)) return Promise.reject(new TypeError(`priority must be live, user or background, got ${priority}`));
    this.active.get(purpose)?.controller.abort(new TaskEnded('replaced', `replaced by a newer ${purpose} request`));
    const controller = new AbortController();
    const signal = controller.signal;
    const task: Task = { purpose, priority, signal, gpu: (work) => this.turn(RANK[priority], signal, work) };
    const entry = { task, controller };
    this.active.set(purpose, entry);

    const cancel = () => controller.abort(new TaskEnded('cancelled', 'cancelled'));
    if (options.signal?.aborted) cancel();
    else options.signal?.addEventListener('abort', cancel, { once: true });
    const ended = new Promise<never>((_, reject) => {
      if (signal.aborted) reject(signal.reason);
      else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
    });
    const ran = (async () => {
      signal.throwIfAborted();
      return body(task);
    })();
    ran.catch(() => {}); // after the task ended, how its body unwinds is moot
    return Promise.race([ran, ended]).finally(() => {
      options.signal?.removeEventListener('abort', cancel);
      if (this.active.get(purpose) === entry) this.active.delete(purpose);
    });
  }

  /** End `task` as replaced (e.g. the model it runs on is being swapped), if it has not ended. */
  replace(task: Task, message: string): void {
    const entry = this.active.get(task.purpose);
    if (entry?.task === task) entry.controller.abort(new TaskEnded('replaced', message));
  }

  /** End the tasks `which` selects (all by default) as replaced: the model or device they run on is gone. */
  replaceAll(message: string, which: (task: Task) => boolean = () => true): void {
    for (const { task } of [...this.active.values()]) if (which(task)) this.replace(task, message);
  }

  /** Purposes of the tasks not yet ended, with their priority (for tests and diagnostics). */
  get tasks(): { purpose: string; priority: Priority }[] {
    return [...this.active.values()].map(({ task }) => ({ purpose: task.purpose, priority: task.priority }));
  }

  private turn<T>(rank: number, signal: AbortSignal, work: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      const onAbort = () => {
        const i = this.waiting.indexOf(turn);
        if (i < 0) return;
        this.waiting.splice(i, 1);
        reject(signal.reason);
      };
      const turn: Turn = {
        rank,
        order: this.order++,
        start: () => {
          signal.removeEventListener('abort', onAbort);
          Promise.resolve()
            .then(work)
            .then(resolve, reject)
            .finally(() => {
              this.running = false;
              this.next();
            });
        },
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(turn);
      this.next();
    });
  }

  private next() {
    if (this.running || this.waiting.length === 0) return;
    let best = 0;
    for (let i = 1; i < this.waiting.length; i++) {
      const a = this.waiting[i], b = this.waiting[best];
      if (a.rank < b.rank || (a.rank === b.rank && a.order < b.order)) best = i;
    }
    const [turn] = this.waiting.splice(best, 1);
    this.running = true;
    turn.start();
  }
}
