/** Chromium flags for WebGPU in headless tests and tools, also on machines without a GPU (SwiftShader). */
export const chromiumArgs = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--enable-unsafe-webgpu',
  '--enable-unsafe-swiftshader',
  // Vulkan compositing: without these, VideoFrame → WebGPU (importExternalTexture,
  // copyExternalImageToTexture) fails on SwiftShader with "Failed to import texture from video".
  // On Linux without a GPU they need Mesa's lavapipe ICD (Debian: mesa-vulkan-drivers); WebGPU
  // itself still runs on SwiftShader.
  '--use-angle=vulkan',
  '--use-vulkan=swiftshader',
  '--enable-features=Vulkan',
];
