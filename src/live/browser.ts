// Live mode's dependencies in the browser (the store's LiveDeps): cameras and sessions on the worker's live channel.
import type { LiveDeps } from '../store/live-slice';
import type { LiveLink } from '../worker/live-protocol';
import { LiveCapture } from './capture';
import { listCameras } from './source';

/** `link`: the inference worker's live channel (the worker exists by the time a session starts). */
export function browserLiveDeps(link: () => LiveLink): LiveDeps {
  return {
    cameras: listCameras,
    start: (request, settings, events, video) => LiveCapture.start(request, settings, link(), events, video),
  };
}
