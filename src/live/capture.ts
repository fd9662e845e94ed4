// The camera side of a live session, on the UI thread (its worker side is `LiveClassifier`, src/worker/live.ts):
// the source's frames go to the inference worker one at a time (a frame waits in a one-frame mailbox while
// another is in transit; a newer one replaces it and the older is closed), results come back and are smoothed,
// measured, logged and handed to the store. Nothing here waits on the GPU: the UI thread only moves frame
// handles and small arrays.
import { EVERY_SESSION, type LiveEvent, type LiveLink, type LiveResult, type LiveSettings } from '../worker/live-protocol';
import { LiveError } from './errors';
import { openSource, readFrames, type FrameReader, type LiveSourceRequest, type OpenSource } from './source';

export interface LiveCaptureEvents {
  filling(filled: number, slots: number): void;
  result(result: LiveResult, shownAt: number): void;
  failed(error: LiveError): void;
  /** The tab was hidden (frames stop) or shown again. */
  paused(paused: boolean): void;
}

export interface LiveSourceInfo {
  label: string;
  frameRate: number;
  reader: FrameReader['kind'];
}

let nextSession = 1;

export class LiveCapture {
  readonly id = nextSession++;
  private source?: OpenSource;
  private reader?: FrameReader;
  private unlisten?: () => void;
  private inTransit = false;
  private mailbox?: { frame: VideoFrame; time: number };
  private hidden = false;
  private stopped = false;
  private readonly onVisibility = () => this.visibilityChanged();

  private constructor(
    private readonly link: LiveLink,
    private readonly events: LiveCaptureEvents,
    private readonly video: HTMLVideoElement,
    private readonly now: () => number,
  ) {}

  /** Open the source in `video` and start sending its frames; rejects with a LiveError. */
  static async start(request: LiveSourceRequest, settings: (frameRate: number) => LiveSettings, link: LiveLink, events: LiveCaptureEvents, video: HTMLVideoElement, now = () => performance.now()): Promise<{ session: LiveCapture; info: LiveSourceInfo }> {
    const session = new LiveCapture(link, events, video, now);
    const source = (session.source = await openSource(request, video, (e) => session.fail(e)));
    session.unlisten = link.listen((e) => session.received(e));
    link.send({ type: 'live-start', session: session.id, settings: settings(source.frameRate) });
    session.reader = readFrames(source.track, video, (frame) => session.frameRead(frame));
    document.addEventListener('visibilitychange', session.onVisibility);
    session.visibilityChanged();
    return { session, info: { label: source.label, frameRate: source.frameRate, reader: session.reader.kind } };
  }

  settingsChanged(settings: LiveSettings) {
    if (!this.stopped) this.link.send({ type: 'live-settings', session: this.id, settings });
  }

  /** Frames held on this side right now (the mailbox's); the worker reports its own. */
  get heldFrames(): number {
    return this.mailbox ? 1 : 0;
  }

  /** Stop reading, release the source (every track stopped) and tell the worker. Safe to call twice. */
  stop() {
    if (this.stopped) return;
    this.stopped = true;
    document.removeEventListener('visibilitychange', this.onVisibility);
    this.reader?.stop();
    this.source?.stop();
    this.mailbox?.frame.close();
    this.mailbox = undefined;
    this.link.send({ type: 'live-stop', session: this.id });
    this.unlisten?.();
  }

  private frameRead(frame: VideoFrame) {
    if (this.stopped || this.hidden) return frame.close();
    const time = this.now();
    if (this.inTransit) {
      this.mailbox?.frame.close();
      this.mailbox = { frame, time };
      return;
    }
    this.send(frame, time);
  }

  private send(frame: VideoFrame, time: number) {
    this.inTransit = true;
    this.link.send({ type: 'live-frame', session: this.id, frame, time }, [frame]);
  }

  private received(event: LiveEvent) {
    if ((event.session !== this.id && event.session !== EVERY_SESSION) || this.stopped) return;
    switch (event.type) {
      case 'live-frame-taken': {
        this.inTransit = false;
        const waiting = this.mailbox;
        this.mailbox = undefined;
        if (waiting) this.send(waiting.frame, waiting.time);
        return;
      }
      case 'live-filling':
        return this.events.filling(event.filled, event.slots);
      case 'live-result':
        // Latency ends when the result is on screen: the next animation frame after the store has it.
        return void requestAnimationFrame(() => this.stopped || this.events.result(event.result, this.now()));
      case 'live-error':
        return this.fail(
          event.error.kind === 'model'
            ? new LiveError('no-model', event.error.message, 'Choose a model (or wait for it to load), then start again.')
            : new LiveError('inference', `Live classification failed: ${event.error.message}`, 'Start again; if it happens again, reload the page.'),
        );
    }
  }

  private visibilityChanged() {
    const hidden = document.visibilityState === 'hidden';
    if (hidden === this.hidden) return;
    this.hidden = hidden;
    // A hidden tab gets no frames worth classifying (and a file would play unseen): pause, resume on return.
    if (this.source?.kind === 'video') {
      if (hidden) this.video.pause();
      else void this.video.play().catch(() => undefined);
    }
    if (hidden) {
      this.mailbox?.frame.close();
      this.mailbox = undefined;
    }
    this.events.paused(hidden);
  }

  private fail(error: LiveError) {
    if (this.stopped) return;
    this.stop();
    this.events.failed(error);
  }
}
