import { useMemo } from 'react';
import { attendedKeys, keyCount, SCHEMES, type Scheme } from '../../attention/schemes';
import { useActions, useExplorerState } from '../../store';
import type { ExplorerData } from './explorer-data';
import { range } from './explorer-data';
import { FramesCanvas } from './FramesCanvas';

/** Stage colours, in the order a scheme's steps run (orange, teal, violet: apart for colour-blind eyes too). */
const STAGE_RGB: [number, number, number][] = [
  [245, 130, 48],
  [32, 178, 170],
  [160, 110, 240],
];

/** Keys tinted by the step that reads them; everything else darkened. The last step wins a shared key. */
function schemeOverlays(scheme: Scheme, data: ExplorerData, frame: number, patch: number) {
  const [gh, gw] = data.grid;
  const N = gh * gw;
  const stages = attendedKeys(scheme, { frame, patch }, data.T, gh, gw);
  const overlays = range(data.T).map((t) => {
    const px = new Uint8ClampedArray(new ArrayBuffer(N * 4));
    for (let p = 0; p < N; p++) px.set([0, 0, 0, 235], p * 4);
    stages.forEach((s, i) => {
      for (let p = 0; p < N; p++) if (s.mask[t * N + p]) px.set([...STAGE_RGB[i], 120], p * 4);
    });
    return px;
  });
  return { stages, overlays };
}

export function SchemesView({ data }: { data: ExplorerData }) {
  const { scheme, query } = useExplorerState('scheme', 'query');
  const { schemeChosen } = useActions();
  const [gh, gw] = data.grid;
  // Until a patch is picked: the centre of the middle frame.
  const q = query ?? { frame: Math.floor(data.T / 2), patch: Math.floor(gh / 2) * gw + Math.floor(gw / 2) };
  const { stages, overlays } = useMemo(() => schemeOverlays(scheme, data, q.frame, q.patch), [scheme, data, q.frame, q.patch]);
  const info = SCHEMES.find((s) => s.id === scheme)!;
  const costs = SCHEMES.map((s) => ({ ...s, keys: keyCount(attendedKeys(s.id, q, data.T, gh, gw)) }));
  return (
    <>
      <div className="segmented" role="radiogroup" aria-label="Attention scheme">
        {SCHEMES.map((s) => (
          <button key={s.id} type="button" role="radio" aria-checked={s.id === scheme} className={s.id === scheme ? 'on' : ''} onClick={() => schemeChosen(s.id)}>
            {s.name} <span className="muted">({s.paper})</span>
          </button>
        ))}
      </div>
      <p className="view-intro">{info.description}</p>
      <ul className="stage-legend">
        {stages.map((s, i) => (
          <li key={s.label}>
            <span className="swatch" style={{ background: `rgb(${STAGE_RGB[i].join(',')})` }} aria-hidden="true" />
            {i + 1}. {s.label}: {s.count} keys
          </li>
        ))}
        <li className="muted">+ the CLS token in every step</li>
      </ul>
      <FramesCanvas name={`scheme-${scheme}`} description={`Keys the picked patch attends to under ${info.name} attention`} frames={data.frames} timestamps={data.timestamps} frameCount={data.T} grid={data.grid} rows={[{ overlays }]} />
      <table className="scheme-costs">
        <caption>Keys per query for this clip ({data.T} frames × {gh}×{gw} patches)</caption>
        <tbody>
          <tr>
            {costs.map((c) => (
              <th key={c.id} scope="col" className={c.id === scheme ? 'on' : ''}>
                {c.paper}
              </th>
            ))}
          </tr>
          <tr>
            {costs.map((c) => (
              <td key={c.id} className={c.id === scheme ? 'on' : ''}>
                {c.keys}
              </td>
            ))}
          </tr>
        </tbody>
      </table>
    </>
  );
}
