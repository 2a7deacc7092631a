/// <reference lib="dom" />
// The weighted-split control of a listener's routes: one weight per pool of each split route,
// saved live with a PUT of the listener as GET returned it (canary 95/5, blue-green 100/0).
import { openDialog, type FieldSpec } from './form-dialog.js';
import type { ListenerModel } from './models.js';
import { splitFieldName, withSplitWeights, type SplitRouteBody } from './split-weights.js';
import type { ViewContext } from './types.js';

export function openSplitDialog(ctx: ViewContext, l: ListenerModel): void {
  const fields: FieldSpec[] = l.splits.flatMap((r) =>
    r.targets.map((t) => ({
      name: splitFieldName(r.index, t.pool),
      label: `${r.label} → ${t.pool}`,
      type: 'number' as const,
      value: String(t.weight),
      hint: 'relative weight 0..1000; 0 takes no new clients',
    })),
  );
  openDialog({
    title: `Traffic split of ${l.name}`,
    text: 'Weights apply to new requests at once; open connections finish where they are. Blue-green: set one pool to 100 and the other to 0.',
    fields,
    submitLabel: 'Apply split',
    onSubmit: async (values) => {
      const path = `/api/v1/listeners/${encodeURIComponent(l.name)}`;
      const current = await ctx.client.get<{ listener: Record<string, unknown> & { routes: SplitRouteBody[] } }>(path);
      await ctx.client.send('PUT', path, withSplitWeights(current.listener, values));
      ctx.changed(`split of ${l.name} applied`);
    },
  });
}
