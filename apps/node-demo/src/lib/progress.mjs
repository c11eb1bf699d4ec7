// A one-line progress bar on a terminal; plain periodic lines when output is a file or CI log.
export function progressBar(total, label) {
  const tty = process.stdout.isTTY;
  let lastLine = 0;
  return {
    update(done, fields = {}) {
      const text = Object.entries(fields).map(([k, v]) => `${k} ${v}`).join('  ');
      const frac = Math.min(1, done / total);
      if (tty) {
        const width = 28;
        const filled = Math.round(frac * width);
        process.stdout.write(`\r${label} [${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${String(Math.round(frac * 100)).padStart(3)}%  ${text}   `);
      } else if (done === total || Date.now() - lastLine > 2000) {
        lastLine = Date.now();
        console.log(`${label} ${String(Math.round(frac * 100)).padStart(3)}%  ${text}`);
      }
    },
    done() {
      if (tty) process.stdout.write('\n');
    },
  };
}
