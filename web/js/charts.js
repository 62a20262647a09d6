// charts.js: bar charts drawn as SVG in the page, no library and no build step. The
// geometry is pure (scale, ticks, where each bar goes) and unit-tested; `barChart`
// turns it into an <svg> with a <title> per bar for the exact figure, and a caption
// that screen readers read. Values are integers (minor units, or thousandths for
// quantities); `format` writes them for people. Negative values (refunds) draw below
// the zero line.

const SVG_NS = 'http://www.w3.org/2000/svg';

/** A round upper bound for `max` (1, 2 or 5 times a power of ten), so the axis
 * reads in plain steps; 0 for nothing to show. */
export function niceCeiling(max) {
  if (!(max > 0)) return 0;
  const power = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 5, 10]) {
    if (step * power >= max) return step * power;
  }
  return 10 * power;
}

/**
 * Where each bar goes in a `width` × `height` plot: `{zeroY, top, bottom, bars:
 * [{x, y, w, h, value}]}`. Bars share the width with a gap between them; the scale
 * runs from the lowest value (or 0) to the highest (or 0), rounded.
 */
export function barLayout(values, { width, height, gap = 0.2 } = {}) {
  const top = niceCeiling(Math.max(0, ...values));
  const bottom = -niceCeiling(-Math.min(0, ...values));
  const span = top - bottom || 1;
  const y = (v) => height - ((v - bottom) / span) * height;
  const zeroY = y(0);
  const slot = values.length ? width / values.length : width;
  const w = Math.max(1, slot * (1 - gap));
  const bars = values.map((value, i) => {
    const end = y(value);
    return { x: i * slot + (slot - w) / 2, y: Math.min(end, zeroY), w, h: Math.abs(zeroY - end), value };
  });
  return { zeroY, top, bottom, bars };
}

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value !== null && value !== undefined) el.setAttribute(key, String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined) continue;
    el.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return el;
}

/**
 * A vertical bar chart of `series` (one or two: [{name, className, values}]) over
 * `labels`. Each bar is a <rect data-label data-value class="bar <className>">
 * with a <title> "label: figure". `every` thins the axis labels (a day has 24 hours).
 */
export function barChart({ labels, series, format = String, testid = 'chart', title = '', every = 1, width = 640, height = 220 }) {
  const pad = { left: 64, right: 8, top: 10, bottom: 38 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const all = series.flatMap((s) => s.values);
  const slotW = labels.length ? plotW / labels.length : plotW;
  // Every series on one scale (that of all their values); each series' bars take
  // their share of a label's slot.
  const scale = barLayout(all.length ? all : [0], { width: plotW, height: plotH });
  const span = scale.top - scale.bottom || 1;
  const yOf = (v) => pad.top + plotH - ((v - scale.bottom) / span) * plotH;
  const zeroY = yOf(0);
  const bars = [];
  series.forEach((s, si) => {
    const share = (slotW * 0.8) / series.length;
    s.values.forEach((value, i) => {
      const end = yOf(value);
      const x = pad.left + i * slotW + slotW * 0.1 + si * share;
      bars.push(svg('rect', {
        class: `bar ${s.className || ''}`.trim(), x: x.toFixed(1), y: Math.min(end, zeroY).toFixed(1),
        width: Math.max(1, share - 1).toFixed(1), height: Math.abs(zeroY - end).toFixed(1),
        'data-label': labels[i], 'data-value': value, 'data-series': s.name,
      }, svg('title', {}, `${labels[i]}${series.length > 1 ? ` · ${s.name}` : ''}: ${format(value)}`)));
    });
  });
  const ticks = [scale.bottom, (scale.bottom + scale.top) / 2, scale.top].filter((v, i, a) => a.indexOf(v) === i);
  return svg('svg', {
    class: 'chart', viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': title, 'data-testid': testid, preserveAspectRatio: 'xMidYMid meet',
  },
  svg('title', {}, title),
  ticks.map((t) => [
    svg('line', { class: 'grid', x1: pad.left, x2: width - pad.right, y1: yOf(t).toFixed(1), y2: yOf(t).toFixed(1) }),
    svg('text', { class: 'tick', x: pad.left - 6, y: (yOf(t) + 4).toFixed(1), 'text-anchor': 'end' }, format(Math.round(t))),
  ]),
  bars,
  svg('line', { class: 'axis', x1: pad.left, x2: width - pad.right, y1: zeroY.toFixed(1), y2: zeroY.toFixed(1) }),
  labels.map((label, i) => (i % every === 0
    ? svg('text', { class: 'label', x: (pad.left + i * slotW + slotW / 2).toFixed(1), y: height - pad.bottom + 16, 'text-anchor': 'middle' }, label)
    : null)));
}
