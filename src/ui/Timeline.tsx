import { useActions, useModelState, useTimelineState, useVideoState } from '../store';
import type { SegmentSummary } from '../store/timeline-slice';
import { formatPercent, formatTime } from './format';
import { ProgressView } from './ProgressView';

/** Categorical colours (Tableau 10), given to top classes in order of first appearance; grey beyond ten. */
const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];
const OTHER = '#8a8f98';

function colours(segments: SegmentSummary[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const s of segments) if (!map.has(s.top.label)) map.set(s.top.label, PALETTE[map.size] ?? OTHER);
  return map;
}

/** The whole video, window by window: a strip of segments coloured by their top class; a click seeks there. */
export function Timeline() {
  const { status, segments, count, progress } = useTimelineState('status', 'segments', 'count', 'progress');
  const { current } = useVideoState('current');
  const { status: modelStatus } = useModelState('status');
  const { timelineRequested, timelineCancelled, seekRequested } = useActions();
  if (!current || modelStatus !== 'ready') return null;
  const colour = colours(segments);
  const end = segments.at(-1)?.end ?? 1;
  return (
    <div className="timeline">
      <div className="timeline-head">
        <h3 className="subhead">Timeline</h3>
        {status !== 'running' && (
          <button type="button" className="button small" onClick={() => void timelineRequested()}>
            {segments.length ? 'Recompute' : 'Classify the whole video over time'}
          </button>
        )}
      </div>
      {status === 'running' && <ProgressView progress={progress} starting="Opening the video" onCancel={timelineCancelled} testId="timeline-progress" />}
      {segments.length > 0 && (
        <>
          <ol className="timeline-strip" data-testid="timeline" aria-label={`${segments.length} of ${count} segments`}>
            {segments.map((s) => (
              <li key={s.index} style={{ flexGrow: Math.max(s.end - s.start, 0.01) }}>
                <button
                  type="button"
                  data-testid="timeline-segment"
                  data-label={s.top.label}
                  style={{ background: colour.get(s.top.label) }}
                  title={`${formatTime(s.start)}–${formatTime(s.end)}: ${s.top.label} (${formatPercent(s.top.prob)})`}
                  aria-label={`${formatTime(s.start)} to ${formatTime(s.end)}: ${s.top.label}, ${formatPercent(s.top.prob)}. Show in the player.`}
                  onClick={() => seekRequested(s.start)}
                />
              </li>
            ))}
            {status === 'running' && count > segments.length && <li className="timeline-pending" style={{ flexGrow: ((count - segments.length) * end) / segments.length }} aria-hidden="true" />}
          </ol>
          <ul className="timeline-legend">
            {[...colour].map(([label, c]) => (
              <li key={label}>
                <span className="swatch" style={{ background: c }} aria-hidden="true" />
                {label}
              </li>
            ))}
          </ul>
        </>
      )}
    </div>
  );
}
