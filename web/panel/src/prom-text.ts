// Parser for the Prometheus text exposition format (what GET /metrics returns), reduced to samples.
// Small enough to own: a library for it would be larger than the panel's own code.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseValue(text: string): number {
  switch (text) {
    case '+Inf':
    case 'Inf':
      return Infinity;
    case '-Inf':
      return -Infinity;
    case 'NaN':
      return NaN;
    default:
      return Number(text);
  }
}

/** Reads `{a="x",b="y\"z"}` starting at `start` (the brace); returns the labels and the index after `}`. */
function parseLabels(line: string, start: number): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  let i = start + 1;
  for (;;) {
    while (line[i] === ' ' || line[i] === ',') i++;
    if (line[i] === '}') return { labels, end: i + 1 };
    const eq = line.indexOf('=', i);
    if (eq < 0 || line[eq + 1] !== '"') throw new Error(`bad label set: ${line}`);
    const key = line.slice(i, eq).trim();
    let value = '';
    let j = eq + 2;
    for (; j < line.length && line[j] !== '"'; j++) {
      const c = line[j];
      if (c === '\\') {
        const next = line[++j];
        value += next === 'n' ? '\n' : (next ?? '');
      } else {
        value += c;
      }
    }
    if (j >= line.length) throw new Error(`unterminated label value: ${line}`);
    labels[key] = value;
    i = j + 1;
  }
}

/** All samples in the text; comments and blank lines are skipped, a malformed line throws. */
export function parsePromText(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const brace = line.indexOf('{');
    const space = line.indexOf(' ');
    let name: string;
    let labels: Record<string, string> = {};
    let rest: string;
    if (brace >= 0 && (space < 0 || brace < space)) {
      name = line.slice(0, brace);
      const parsed = parseLabels(line, brace);
      labels = parsed.labels;
      rest = line.slice(parsed.end).trim();
    } else {
      if (space < 0) throw new Error(`sample without value: ${line}`);
      name = line.slice(0, space);
      rest = line.slice(space + 1).trim();
    }
    const valueText = rest.split(/\s+/)[0] ?? '';
    const value = parseValue(valueText);
    if (valueText === '' || (Number.isNaN(value) && valueText !== 'NaN')) throw new Error(`bad sample value: ${line}`);
    samples.push({ name, labels, value });
  }
  return samples;
}
