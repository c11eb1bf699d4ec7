/**
 * The drawing pad and its conversion to an MNIST-like input: MNIST digits are white on black, scaled
 * so the longer side of their bounding box is 20 px and centred by their centre of mass in 28 × 28
 * (LeCun et al. 1998), so the drawing gets the same treatment before LeNet sees it.
 */
export interface Pad {
  canvas: HTMLCanvasElement;
  clear(): void;
  /** True when something is drawn. */
  isEmpty(): boolean;
}

const SIZE = 280;

export function drawingPad(onStroke: () => void): Pad {
  const canvas = document.createElement('canvas');
  canvas.width = SIZE;
  canvas.height = SIZE;
  canvas.className = 'pad';
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  let empty = true;
  const clear = () => {
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, SIZE, SIZE);
    empty = true;
  };
  clear();
  let last: [number, number] | null = null;
  const at = (e: PointerEvent): [number, number] => {
    const r = canvas.getBoundingClientRect();
    return [((e.clientX - r.left) / r.width) * SIZE, ((e.clientY - r.top) / r.height) * SIZE];
  };
  canvas.addEventListener('pointerdown', (e) => {
    canvas.setPointerCapture(e.pointerId);
    last = at(e);
  });
  canvas.addEventListener('pointermove', (e) => {
    if (!last) return;
    const p = at(e);
    ctx.strokeStyle = '#fff';
    ctx.lineWidth = 22;
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    ctx.beginPath();
    ctx.moveTo(...last);
    ctx.lineTo(...p);
    ctx.stroke();
    last = p;
    empty = false;
  });
  const end = () => {
    if (last) onStroke();
    last = null;
  };
  canvas.addEventListener('pointerup', end);
  canvas.addEventListener('pointercancel', end);
  return { canvas, clear, isEmpty: () => empty };
}

/** The drawing as 28 × 28 intensities in [0, 1] (row-major), or null when nothing is drawn. */
export function toMnist(canvas: HTMLCanvasElement): Float32Array | null {
  const src = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
  let [x0, y0, x1, y1] = [Infinity, Infinity, -1, -1];
  for (let y = 0; y < src.height; y++) {
    for (let x = 0; x < src.width; x++) {
      if (src.data[(y * src.width + x) * 4] > 20) {
        x0 = Math.min(x0, x);
        x1 = Math.max(x1, x);
        y0 = Math.min(y0, y);
        y1 = Math.max(y1, y);
      }
    }
  }
  if (x1 < 0) return null;
  const bw = x1 - x0 + 1;
  const bh = y1 - y0 + 1;
  const scale = 20 / Math.max(bw, bh);
  const small = document.createElement('canvas');
  small.width = 28;
  small.height = 28;
  const sctx = small.getContext('2d', { willReadFrequently: true })!;
  sctx.fillStyle = '#000';
  sctx.fillRect(0, 0, 28, 28);
  sctx.imageSmoothingQuality = 'high';
  const w = bw * scale;
  const h = bh * scale;
  sctx.drawImage(canvas, x0, y0, bw, bh, (28 - w) / 2, (28 - h) / 2, w, h);
  const img = sctx.getImageData(0, 0, 28, 28);
  const boxed = new Float32Array(784);
  let [mass, mx, my] = [0, 0, 0];
  for (let i = 0; i < 784; i++) {
    const v = img.data[i * 4] / 255;
    boxed[i] = v;
    mass += v;
    mx += v * (i % 28);
    my += v * Math.floor(i / 28);
  }
  // Shift so the centre of mass lands on the centre of the 28 × 28 field.
  const dx = Math.round(13.5 - mx / mass);
  const dy = Math.round(13.5 - my / mass);
  const out = new Float32Array(784);
  for (let y = 0; y < 28; y++) {
    for (let x = 0; x < 28; x++) {
      const sx = x - dx;
      const sy = y - dy;
      if (sx >= 0 && sx < 28 && sy >= 0 && sy < 28) out[y * 28 + x] = boxed[sy * 28 + sx];
    }
  }
  return out;
}

/** Paints channel `ch` of a channel-last feature map into a canvas, scaled to its own range. */
export function paintChannel(canvas: HTMLCanvasElement, map: { h: number; w: number; c: number; data: Float32Array }, ch: number): void {
  canvas.width = map.w;
  canvas.height = map.h;
  const ctx = canvas.getContext('2d')!;
  const img = ctx.createImageData(map.w, map.h);
  let hi = 1e-6;
  for (let i = 0; i < map.h * map.w; i++) hi = Math.max(hi, map.data[i * map.c + ch]);
  for (let i = 0; i < map.h * map.w; i++) {
    const v = Math.max(0, map.data[i * map.c + ch]) / hi;
    img.data.set([255 * v, 180 * v + 20 * (1 - v), 60 + 140 * (1 - v), 255], i * 4);
  }
  ctx.putImageData(img, 0, 0);
}
