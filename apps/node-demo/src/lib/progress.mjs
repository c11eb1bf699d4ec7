// A one-line progress bar on a terminal; plain periodic lines when output is a file or CI log. Every line
// ends with the elapsed time and an ETA from the mean rate since the first update, unless the caller
// passes its own `eta` field (e.g. a resumed run that knows its rate better).
const clock = (s) => (s >= 3600 ? `${Math.floor(s / 3600)} h ${String(Math.round((s % 3600) / 60)).padStart(2, '0')} min` : s >= 60 ? `${Math.floor(s / 60)} min ${String(Math.round(s % 60)).padStart(2, '0')} s` : `${Math.round(s)} s`);

export function progressBar(total, label) {
  const tty = process.stdout.isTTY;
  let lastLine = 0;
  let first = null; // [time, done] at the first update, so a resumed count measures its own rate
  return {
    update(done, fields = {}) {
      const now = Date.now();
      first ??= [now, done];
      const rate = (done - first[1]) / Math.max(1, now - first[0]); // per ms
      const timing = { elapsed: clock((now - first[0]) / 1000), ...(fields.eta === undefined && { eta: rate > 0 ? clock((total - done) / rate / 1000) : '…' }) };
      const text = Object.entries({ ...fields, ...timing }).map(([k, v]) => `${k} ${v}`).join('  ');
      const frac = Math.min(1, done / total);
      if (tty) {
        const width = 28;
        const filled = Math.round(frac * width);
        process.stdout.write(`\r${label} [${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${String(Math.round(frac * 100)).padStart(3)}%  ${text}   `);
      } else if (done === total || now - lastLine > 2000) {
        lastLine = now;
        console.log(`${label} ${String(Math.round(frac * 100)).padStart(3)}%  ${text}`);
      }
    },
    done() {
      if (tty) process.stdout.write('\n');
    },
  };
}
