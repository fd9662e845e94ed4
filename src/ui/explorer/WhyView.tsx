import { useEffect, useMemo, useState } from 'react';
import { colormap, cssColor, valueRange, type ColormapName } from '../../attention/colormap';
import { BACKEND_CATALOG } from '../../backends/registry';
import { topK } from '../../predictions/scores';
import { useActions, useExplanation, useExplorerState, useInferenceState, useResult, useWhyState } from '../../store';
import { explainedClass } from '../../store/why-slice';
import type { ExplainResult } from '../../worker/protocol';
import { formatPercent } from '../format';
import { ProgressView } from '../ProgressView';
import { ColorLegend } from './ColorLegend';
import { heatOverlays } from './draw';
import type { ExplorerData } from './explorer-data';
import { DeletionPlot, HeatFrames, ImportanceStrip } from './WhyCharts';

const perFrame = (values: Float32Array, T: number) => Array.from({ length: T }, (_, t) => values.subarray((t * values.length) / T, ((t + 1) * values.length) / T));

/** The class picker: the result's top 5, and any class by name. */
function ClassPicker({ labels, probs, shown }: { labels: string[]; probs: Float32Array; shown: number }) {
  const { whyClassChosen } = useActions();
  const [search, setSearch] = useState('');
  const top = useMemo(() => topK(probs, labels, 5), [probs, labels]);
  const pick = (text: string) => {
    setSearch(text);
    const index = labels.indexOf(text);
    if (index >= 0) void whyClassChosen(index);
  };
  return (
    <div className="controls">
      <span className="field-label">Explain</span>
      <div className="segmented" role="group" aria-label="Top classes">
        {top.map((p) => (
          <button key={p.index} type="button" data-testid="why-class" data-index={p.index} className={p.index === shown ? 'on' : ''} aria-pressed={p.index === shown} onClick={() => void whyClassChosen(p.index)}>
            {p.label} · {formatPercent(p.prob)}
          </button>
        ))}
      </div>
      <label className="field inline">
        <span className="field-label">or any class</span>
        <input data-testid="why-class-search" list="why-labels" value={search} placeholder="search the labels" onChange={(e) => pick(e.target.value)} />
        <datalist id="why-labels">
          {labels.map((l) => (
            <option key={l} value={l} />
          ))}
        </datalist>
      </label>
    </div>
  );
}

/** Why the model names a class: relevance over every frame, pixel saliency, frame importance, deletion curves. */
export function WhyView({ data }: { data: ExplorerData }) {
  const result = useResult();
  const { resultId } = useInferenceState('resultId');
  const { classIndex, status, progress, explains, error } = useWhyState('classIndex', 'status', 'progress', 'explains', 'error');
  const { explanationRequested, explanationCancelled } = useActions();
  const explanation = useExplanation();
  const labels = data.info.labels;
  const shown = result ? explainedClass(classIndex, result.probs) : 0;
  const current = explanation && explains?.resultId === resultId && explains.classIndex === shown ? explanation : undefined;
  // Our engine explains as it classifies; another backend's user asks for it (it runs our engine beside it).
  const automatic = data.info.backend.capabilities.explain === true;
  useEffect(() => {
    if (automatic && resultId !== null) void explanationRequested();
  }, [automatic, resultId, shown, explanationRequested]);
  if (!result) return null;
  const name = labels[shown] ?? `class ${shown}`;
  return (
    <>
      <h3 className="why-title" data-testid="why-title" data-class={shown}>
        Why “{name}”?
      </h3>
      <ClassPicker labels={labels} probs={result.probs} shown={shown} />
      {status === 'running' && <ProgressView progress={progress} starting="Opening the video" onCancel={explanationCancelled} testId="why-progress" />}
      {error && status === 'failed' && (
        <p className="muted" role="status" data-testid="why-error">
          {error.title}: {error.message}. {error.advice}
        </p>
      )}
      {!current && status !== 'running' && (
        <div className="attention-fallback" data-testid="why-fallback">
          {!automatic && <p className="muted">{BACKEND_CATALOG[data.info.backend.name].label} has no backward pass: the explanation needs gradients, which our WGSL engine computes.</p>}
          <button type="button" className="button primary small" data-testid="why-fallback-run" onClick={() => void explanationRequested()}>
            Explain “{name}”{automatic ? '' : ' with the WGSL engine'}
          </button>
        </div>
      )}
      {current && <Explanation e={current} name={name} attentionType={data.info.attentionType} />}
    </>
  );
}

function Explanation({ e, name, attentionType }: { e: ExplainResult; name: string; attentionType: ExplorerData['info']['attentionType'] }) {
  const { colormap: cmap } = useExplorerState('colormap');
  const pictures = useMemo(() => pictureOf(e, cmap, name), [e, cmap, name]);
  const slug = name.replace(/[^\w-]+/g, '_');
  const T = e.frames.length;
  return (
    <div className="why" data-testid="why-explanation" data-class={e.classIndex}>
      <p className="view-intro">
        The patches that made the model say “{name}” ({formatPercent(e.probability)} on this clip): the gradient-weighted relevance of every attention{' '}
        {attentionType === 'divided_space_time' ? 'step, in time and in space' : 'layer'} (Chefer, Gur and Wolf, 2021), traced from the class back to the input patches.
      </p>
      <HeatFrames
        testId="why-relevance"
        name={`why-${slug}-relevance`}
        description={`Relevance of each patch of each frame for ${name}`}
        caption="Relevance per patch, on a scale shared by the frames"
        frames={e.frames}
        timestamps={e.timestamps}
        grid={e.grid}
        row={pictures.relevance.row}
        legend={pictures.relevance.legend}
        numbers={() => ({ view: 'why', class: e.classIndex, label: name, probability: e.probability, grid: e.grid, cls: e.relevanceCls, relevance: perFrame(e.relevance, T), frameImportance: e.frameImportance })}
      />
      <ColorLegend legend={pictures.relevance.legend} />
      <h4>Pixel saliency</h4>
      <p className="view-intro">Input × gradient of the class’s logit, summed over the colour channels, as magnitude: the pixels whose change would move “{name}” most.</p>
      <HeatFrames
        testId="why-saliency"
        name={`why-${slug}-saliency`}
        description={`Input times gradient of each pixel for ${name}`}
        caption={`${e.size[0]}×${e.size[1]} pixels per frame, as the model saw them`}
        frames={e.frames}
        timestamps={e.timestamps}
        grid={e.size}
        row={pictures.saliency.row}
        legend={pictures.saliency.legend}
        numbers={() => ({ view: 'why-saliency', class: e.classIndex, label: name, size: e.size, inputTimesGradient: perFrame(e.saliency, T) })}
      />
      <h4>Frame importance</h4>
      <ImportanceStrip testId="why-frames" name={`why-${slug}-frames`} values={e.frameImportance} timestamps={e.timestamps} colour={pictures.barColour} numbers={() => ({ view: 'why-frames', class: e.classIndex, label: name, timestamps: e.timestamps, frameImportance: e.frameImportance })} />
      <h4>Does the model agree? Deletion curves</h4>
      <p className="view-intro">
        The clip again with more and more patches removed (set to the mean colour), most relevant first by each explanation, and the probability of “{name}” each time. The faster it falls — the lower
        the area — the more the model depends on what that explanation points at.
      </p>
      <DeletionPlot
        testId="why-deletion"
        name={`why-${slug}-deletion`}
        curves={e.curves}
        numbers={() => ({ view: 'why-deletion', class: e.classIndex, label: name, curves: e.curves.map((c) => ({ order: c.order, fractions: c.fractions, probabilities: c.probs, area: c.area })) })}
      />
      <p className="muted small">
        Explained in {Math.round(e.timings.explainMs)} ms; {e.curves.length * (e.curves[0]?.fractions.length - 1) + 1} runs for the curves in {Math.round(e.timings.deletionMs)} ms.
      </p>
    </div>
  );
}

function pictureOf(e: ExplainResult, cmap: ColormapName, name: string) {
  const lut = colormap(cmap), T = e.frames.length;
  const relevance = perFrame(e.relevance, T);
  const rRange = valueRange(...relevance);
  const saliency = perFrame(e.saliency, T).map((f) => f.map(Math.abs));
  const sRange = valueRange(...saliency);
  return {
    relevance: { row: { overlays: heatOverlays(relevance, rRange, lut) }, legend: { lut, range: rRange, label: `relevance of each patch for “${name}”` } },
    saliency: { row: { overlays: heatOverlays(saliency, sRange, lut) }, legend: { lut, range: sRange, label: '|input × gradient|' } },
    barColour: cssColor(lut, 0.8),
  };
}
