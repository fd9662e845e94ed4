// What the worker reports for the tiny test model (models/tiny-divided, three of its labels): the store's tests load it.
import type { ModelInfo } from '../../src/worker/protocol';

export const tinyModelInfo: ModelInfo = {
  id: 'tiny-divided', source: '/models/tiny-divided', format: 'safetensors', attentionType: 'divided_space_time',
  frames: 4, imageSize: 64, patchSize: 16, hiddenSize: 64, layers: 2, heads: 4, labels: ['walk', 'run', 'jump'],
  parameters: 1000, gemmVariant: 'registers', adapter: 'swiftshader',
  backend: { name: 'wgsl', reason: 'test', capabilities: { attention: true, hiddenStates: true, gpuInput: true, explain: true, threads: null } },
};
