// Jest global teardown of the e2e project: stops the local control plane the global setup started.
// (Loaded like global-setup.ts: erasable TypeScript only, no imports of our own .js specifiers.)
export default async function globalTeardown(): Promise<void> {
  const cp = globalThis.__BEASTMODE_CONTROL_PLANE__;
  if (cp === undefined) return;
  globalThis.__BEASTMODE_CONTROL_PLANE__ = undefined;
  await cp.stop();
  delete process.env.E2E_KUBECONFIG;
  delete process.env.E2E_HELM;
  delete process.env.E2E_LOCAL_CONTROL_PLANE;
}
