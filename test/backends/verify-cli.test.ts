// `npm run verify -- … --backend onnx-wasm|tfjs-cpu` as a user runs it: a real process, its output and exit code.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { verify } from '../cli/run-verify';
import { expectedPath, FIXTURES, modelDir } from '../fixtures';


const line = (name: string) => new RegExp(`^${name.replace('.', '\\.')} +\\[[\\d,]+\\] +max abs error [\\d.e-]+ \\(tolerance [\\d.e-]+\\) +pass$`, 'm');

describe('npm run verify with the comparison backends', () => {
  it('--backend onnx-wasm finds model.onnx beside the model folder and checks the logits', async () => {
    const { code, stdout } = await verify(modelDir('small-divided'), expectedPath('small-divided'), '--backend', 'onnx-wasm');
    expect(stdout).toContain(`ONNX file ${join(FIXTURES, 'small-divided', 'model.onnx')} (an ONNX export returns logits only)`);
    expect(stdout).toMatch(line('logits'));
    expect(stdout).not.toMatch(/hidden_states/);
    expect(stdout.trim().split('\n').at(-1)).toBe('verify: PASS');
    expect(code).toBe(0);
  });

  it('--backend tfjs-cpu checks logits, hidden states and attention', async () => {
    const { code, stdout } = await verify(modelDir('tiny-joint_space_time'), expectedPath('tiny-joint_space_time'), '--backend', 'tfjs-cpu');
    for (const name of ['logits', 'hidden_states.0', 'hidden_states.2', 'last_hidden_state', 'attn.0.full', 'attn.1.full']) expect(stdout).toMatch(line(name));
    expect(stdout.trim().split('\n').at(-1)).toBe('verify: PASS');
    expect(code).toBe(0);
  });

  it('says where the ONNX file should be when there is none', async () => {
    const { code, stdout, stderr } = await verify(modelDir('base1-divided-fp16'), expectedPath('base1-divided-fp16'), '--backend', 'onnx-wasm');
    expect(code).toBe(1);
    expect(stderr).toMatch(/onnx-wasm needs an ONNX export: no model.onnx in .*base1-divided-fp16\/model or its parent folder/);
    expect(stdout.trim().split('\n').at(-1)).toBe('verify: FAIL (error)');
  });
});
