/// <reference lib="dom" />
// One live line chart (uPlot: small, canvas-drawn, made for streaming time series) over a
// SeriesWindow, with a text line of the latest values that stays readable without hovering.
import uPlot from 'uplot';
import { h, setAttr, setText } from './dom.js';
import type { SeriesWindow } from './traffic-history.js';

const PALETTE = ['#2563eb', '#dc2626', '#059669', '#d97706', '#7c3aed', '#db2777', '#0891b2', '#65a30d', '#9333ea', '#ea580c'];

export interface TimeChartOptions {
  title: string;
  /** Formats a value for the axis and the latest-values line. */
  format(v: number): string;
  id: string;
}

export class TimeChart {
  readonly el: HTMLElement;
  private readonly plotHost: HTMLElement;
  private readonly latest: HTMLElement;
  private plot: uPlot | null = null;
  private keys: string[] = [];
  private readonly resize = new ResizeObserver(() => this.fit());

  constructor(private readonly opts: TimeChartOptions) {
    this.plotHost = h('div', { class: 'chart-plot' });
    this.latest = h('div', { class: 'chart-latest' }, 'waiting for data…');
    this.el = h('figure', { class: 'chart', id: opts.id }, h('figcaption', {}, opts.title), this.plotHost, this.latest);
    this.resize.observe(this.plotHost);
  }

  update(window: SeriesWindow): void {
    const keys = window.keys();
    const data = [window.times, ...keys.map((k) => window.series.get(k) ?? [])] as uPlot.AlignedData;
    if (!this.plot || keys.join('\0') !== this.keys.join('\0')) {
      this.plot?.destroy();
      this.keys = keys;
      this.plot = new uPlot(this.options(keys), data, this.plotHost);
    } else {
      this.plot.setData(data);
    }
    const last = keys.map((k) => {
      const values = window.series.get(k) ?? [];
      const v = values[values.length - 1];
      return { k, v: v ?? null };
    });
    setText(this.latest, last.length ? last.map(({ k, v }) => `${k}: ${v === null ? '–' : this.opts.format(v)}`).join('   ') : 'no series yet');
    setAttr(this.el, 'data-points', String(window.times.length));
    setAttr(this.el, 'data-latest', JSON.stringify(Object.fromEntries(last.map(({ k, v }) => [k, v]))));
  }

  private options(keys: string[]): uPlot.Options {
    const fmt = (v: number) => this.opts.format(v);
    return {
      width: Math.max(this.plotHost.clientWidth, 200),
      height: 180,
      // Values are in the latest-values line; the legend only names the colours.
      legend: { show: true, live: false },
      cursor: { drag: { x: false, y: false } },
      // At least a minute of time axis, so the first seconds do not stretch into sub-second ticks.
      scales: { x: { time: true, range: (_u, min, max) => [Math.min(min, max - 60), max] }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
      axes: [{ stroke: '#64748b' }, { stroke: '#64748b', size: 60, values: (_u, ticks) => ticks.map((t) => fmt(t)) }],
      series: [{}, ...keys.map((k, i) => ({ label: k, stroke: PALETTE[i % PALETTE.length] ?? '#000', width: 1.5, spanGaps: false, points: { show: false }, value: (_u: uPlot, v: number | null) => (v === null ? '–' : fmt(v)) }))],
    };
  }

  private fit(): void {
    if (this.plot && this.plotHost.clientWidth > 0) this.plot.setSize({ width: this.plotHost.clientWidth, height: 180 });
  }
}
