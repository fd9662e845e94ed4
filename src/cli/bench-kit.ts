// npm run bench:kit -- [--out bench-kit] [--no-debs]
// Builds the GPU benchmark kit: one folder (under 60 MiB) that runs `npm run bench` on a machine with a GPU
// but no Node, no Vulkan loader and no network (see src/bench/kit/run.sh and environment.md). It holds:
//   payload.tar.xz  this machine's Node binary, dawn.node, the benchmark and verify each bundled into one file, and the parts
//                   of onnxruntime-web its wasm and WebGPU EPs load in Node;
//   debs/           Debian's Vulkan loader and the GL libraries NVIDIA's Vulkan driver links against
//                   (`apt-get download`), unpacked by run.sh only where the system lacks them;
//   run.sh          unpacks, finds the Vulkan driver, runs the benchmark (or `run.sh verify ...`) with the given options;
//   run-all.sh      every measurement the README's GPU table holds, in one call; torch-anchor.py its PyTorch anchor.
// The random-weight models (and ORT's ONNX export of them) are made by the benchmark where it runs.
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';

const ROOT = join(import.meta.dirname, '..', '..');
const KIT_LIMIT_BYTES = 60 * 2 ** 20;

/** What NVIDIA's Vulkan ICD and Dawn need beyond libc on a bare machine (environment.md, "A real GPU"). */
const DEBS = ['libvulkan1', 'libegl1', 'libglvnd0', 'libopengl0', 'libgl1', 'libglx0', 'libgles2', 'libx11-6', 'libxcb1', 'libxau6', 'libxdmcp6', 'libbsd0', 'libmd0', 'libxext6'];

/** onnxruntime-web files its Node entry points load: the wasm EP (ort.node) and the WebGPU EP (asyncify build). */
const ORT_FILES = ['package.json', 'dist/ort.node.min.mjs', 'dist/ort-wasm-simd-threaded.mjs', 'dist/ort-wasm-simd-threaded.wasm', 'dist/ort.webgpu.bundle.min.mjs', 'dist/ort-wasm-simd-threaded.asyncify.mjs', 'dist/ort-wasm-simd-threaded.asyncify.wasm'];
/** What ort.node.min.mjs imports. */
const ORT_COMMON_FILES = ['package.json', 'dist/esm'];
const WEBGPU_FILES = ['package.json', 'index.js', 'dist/linux-x64/dawn.node'];

function parseArgs(argv: string[]) {
  const args = { out: join(ROOT, 'bench-kit'), debs: true };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out') args.out = argv[++i];
    else if (argv[i] === '--no-debs') args.debs = false;
    else throw new Error(`unknown option ${argv[i]}\nusage: npm run bench:kit -- [--out folder] [--no-debs]`);
  }
  return args;
}

/** Copy files or folders, keeping their paths under `from`. */
function copyInto(stage: string, from: string, to: string, files: string[]) {
  for (const f of files) {
    mkdirSync(dirname(join(stage, to, f)), { recursive: true });
    cpSync(join(from, f), join(stage, to, f), { recursive: true });
  }
}

const folderBytes = (dir: string): number =>
  readdirSync(dir, { withFileTypes: true }).reduce((n, e) => n + (e.isDirectory() ? folderBytes(join(dir, e.name)) : statSync(join(dir, e.name)).size), 0);

async function main() {
  const args = parseArgs(process.argv.slice(2));
  rmSync(args.out, { recursive: true, force: true });
  mkdirSync(args.out, { recursive: true });
  const stage = mkdtempSync(join(tmpdir(), 'bench-kit-'));
  try {
    console.log('bundling the benchmark and verify');
    await build({
      entryPoints: [join(ROOT, 'src/cli/bench.ts'), join(ROOT, 'src/cli/verify.ts')],
      outdir: join(stage, 'app'),
      outExtension: { '.js': '.mjs' },
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      // Loaded from the copies beside the bundle (a native addon; wasm beside its loaders).
      external: ['webgpu', 'onnxruntime-web', 'onnxruntime-web/*'],
      // --browser (Playwright, Vite) is not in the kit: its module stays out, and asking for it says so.
      plugins: [{ name: 'no-browser', setup: (b) => b.onResolve({ filter: /\/browser\/launch$/ }, () => ({ path: './browser/launch (not in the kit)', external: true })) }],
      banner: { js: "import { createRequire as kitRequire } from 'node:module'; const require = kitRequire(import.meta.url);" },
      logLevel: 'warning',
    });
    copyInto(stage, join(ROOT, 'node_modules/webgpu'), 'app/node_modules/webgpu', WEBGPU_FILES);
    copyInto(stage, join(ROOT, 'node_modules/onnxruntime-web'), 'app/node_modules/onnxruntime-web', ORT_FILES);
    copyInto(stage, join(ROOT, 'node_modules/onnxruntime-common'), 'app/node_modules/onnxruntime-common', ORT_COMMON_FILES);
    mkdirSync(join(stage, 'bin'));
    copyFileSync(process.execPath, join(stage, 'bin/node'));

    console.log(`compressing payload.tar.xz (${(folderBytes(stage) / 2 ** 20).toFixed(0)} MiB)`);
    execFileSync('tar', ['-cf', join(args.out, 'payload.tar.xz'), '-I', 'xz -7 -T0', '-C', stage, '.'], { stdio: 'inherit' });
    if (args.debs) {
      console.log(`apt-get download ${DEBS.join(' ')}`);
      mkdirSync(join(args.out, 'debs'));
      execFileSync('apt-get', ['download', ...DEBS], { cwd: join(args.out, 'debs'), stdio: ['ignore', 'ignore', 'inherit'] });
    }
    for (const f of ['run.sh', 'run-all.sh', 'torch-anchor.py']) cpSync(join(ROOT, 'src/bench/kit', f), join(args.out, f));
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
  const bytes = folderBytes(args.out);
  console.log(`${args.out}: ${(bytes / 2 ** 20).toFixed(1)} MiB`);
  if (bytes > KIT_LIMIT_BYTES) throw new Error(`the kit is ${(bytes / 2 ** 20).toFixed(1)} MiB, over the ${KIT_LIMIT_BYTES / 2 ** 20} MiB a device run carries`);
}

main().catch((e: Error) => {
  console.error(`bench:kit: ${e.message}`);
  process.exit(1);
});
