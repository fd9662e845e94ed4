import { useEffect, useRef } from 'react';
import { colormap, colorize, valueRange } from '../../attention/colormap';
import { liveAttentionMap, useLiveState } from '../../store';

/**
 * The newest frame's spatial attention (CLS → patches, head mean) over the live video. The model sees the
 * centre crop of the frame (shortest edge resized to the crop size, as the TimeSformer checkpoints do),
 * so the map covers that centred square, not the whole frame.
 */
export function AttentionOverlay({ video }: { video: React.RefObject<HTMLVideoElement | null> }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const { clips, status } = useLiveState('clips', 'status');
  useEffect(() => {
    const c = canvas.current, v = video.current;
    const map = liveAttentionMap();
    const ctx = c?.getContext('2d');
    if (!c || !v || !ctx) return;
    if (!map || status === 'stopped' || status === 'error' || !v.videoWidth) {
      ctx.clearRect(0, 0, c.width, c.height);
      return;
    }
    c.width = v.videoWidth;
    c.height = v.videoHeight;
    const [gh, gw] = map.grid;
    const cells = new ImageData(colorize(map.values, valueRange(map.values), colormap('inferno'), 150), gw, gh);
    const side = Math.min(c.width, c.height);
    const patch = document.createElement('canvas');
    patch.width = gw;
    patch.height = gh;
    patch.getContext('2d')!.putImageData(cells, 0, 0);
    ctx.clearRect(0, 0, c.width, c.height);
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(patch, (c.width - side) / 2, (c.height - side) / 2, side, side);
  }, [clips, status, video]);
  return <canvas ref={canvas} className="live-attention" data-testid="live-attention" aria-label="Spatial attention of the newest frame" />;
}
