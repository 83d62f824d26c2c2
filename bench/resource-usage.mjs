// Preloaded into a measured child (node --import ./bench/resource-usage.mjs ...): at exit, writes the process's
// CPU seconds (user, system) and peak resident set size (getrusage) as JSON to PACKETWALK_RESOURCE_FILE.
import { writeFileSync } from 'node:fs';

const out = process.env.PACKETWALK_RESOURCE_FILE;
if (out) {
  process.on('exit', () => {
    const r = process.resourceUsage();
    writeFileSync(out, JSON.stringify({ userSec: r.userCPUTime / 1e6, systemSec: r.systemCPUTime / 1e6, maxRssBytes: r.maxRSS * 1024 }));
  });
}
