export default async function globalTeardown(): Promise<void> {
  await Promise.all([globalThis.settleflowTestStack?.stop(), globalThis.settleflowTestStripeMock?.stop()]);
}
