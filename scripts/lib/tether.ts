// Preloaded into child Node processes (`--import`): exits when the process that started us is gone, so a
// SIGKILLed demo or test run leaves no operator, gateway or simulator behind. The parent's pid comes from
// BMCP_PARENT_PID, which the harness's spawnManaged sets.
const parent = Number(process.env.BMCP_PARENT_PID ?? 0);
if (parent > 1) {
  setInterval(() => {
    try {
      process.kill(parent, 0);
    } catch {
      process.exit(0);
    }
  }, 500).unref();
}
