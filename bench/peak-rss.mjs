// Preloaded into a measured child (node --import ./bench/peak-rss.mjs ...): at exit, writes the process's peak
// resident set size (getrusage ru_maxrss, bytes) and its CPU time (user + system, microseconds) to the file named by
// PACKETWALK_PEAK_RSS_FILE, one per line.
import { writeFileSync } from 'node:fs';

const out = process.env.PACKETWALK_PEAK_RSS_FILE;
if (out) {
  process.on('exit', () => {
    const u = process.resourceUsage();
    writeFileSync(out, `${u.maxRSS * 1024}\n${u.userCPUTime + u.systemCPUTime}\n`);
  });
}
