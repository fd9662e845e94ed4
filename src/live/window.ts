// How long a stretch of live video the model's T frames cover: 2 s, 4 s, or as the checkpoint was
// trained (Kinetics base: 8 frames one every 32 = 256 frames ≈ 8.5 s at 30 fps).
import { policyForModel } from '../video/sampling';

export type LiveWindow = '2s' | '4s' | 'as-trained';

export const LIVE_WINDOWS: { value: LiveWindow; label: string }[] = [
  { value: '2s', label: '2 s' },
  { value: '4s', label: '4 s' },
  { value: 'as-trained', label: 'as trained' },
];

/**
 * Seconds the window spans. 'as-trained' at the source's frame rate: a stride checkpoint spans T·S frames;
 * a segments checkpoint (SSv2) saw whole clips, a few seconds each: we take 4 s.
 */
export function windowSeconds(window: LiveWindow, model: { id: string; frames: number }, frameRate: number): number {
  if (window === '2s') return 2;
  if (window === '4s') return 4;
  const policy = policyForModel(model.id, { numFrames: model.frames });
  if (policy.kind === 'segments') return 4;
  return (policy.frames * policy.stride) / (frameRate > 0 ? frameRate : 30);
}
