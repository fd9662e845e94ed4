import { useEffect, useRef } from 'react';
import { useActions } from '../../store';
import { pickedFolderName } from '../dropped-files';

/** "Open a local model folder": a directory picker (config.json + weights), or drop the folder on the panel. */
export function OpenFolder() {
  const input = useRef<HTMLInputElement>(null);
  const { modelFolderOpened } = useActions();
  // React has no prop for webkitdirectory; the DOM property works everywhere that matters.
  useEffect(() => {
    if (input.current) input.current.webkitdirectory = true;
  }, []);
  return (
    <div className="open-folder">
      <button type="button" className="button" onClick={() => input.current?.click()}>
        Open a local model folder…
      </button>
      <span className="hint">or drop one here (config.json + model.safetensors)</span>
      <input
        ref={input}
        type="file"
        multiple
        hidden
        data-testid="model-folder-input"
        onChange={(e) => {
          const files = Array.from(e.target.files ?? []);
          e.target.value = '';
          // A folder without config.json still goes to the worker, whose error says what is missing.
          if (files.length > 0) modelFolderOpened(pickedFolderName(files), files);
        }}
      />
    </div>
  );
}
