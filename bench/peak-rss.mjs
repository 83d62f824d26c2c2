// Preloaded into a measured child (node --import ./bench/peak-rss.mjs ...): at exit, writes the process's peak
// resident set size (getrusage ru_maxrss) to the file named by PACKETWALK_PEAK_RSS_FILE.
import { writeFileSync } from 'node:fs';

const out = process.env.PACKETWALK_PEAK_RSS_FILE;
if (out) process.on('exit', () => writeFileSync(out, String(process.resourceUsage().maxRSS * 1024)));
