// The listener body the split control PUTs: the listener as GET returned it, with the weights the
// operator typed for each split route (by route index and pool), and without read-only fields.

export interface SplitRouteBody {
  split?: { pool: string; weight: number }[];
}

/** The form field of one pool's weight on one route. */
export function splitFieldName(route: number, pool: string): string {
  return `r${route}.${pool}`;
}

export function withSplitWeights(listener: Record<string, unknown> & { routes: SplitRouteBody[] }, values: Record<string, string>): Record<string, unknown> {
  const body: Record<string, unknown> = { ...listener };
  delete body['port'];
  body['routes'] = listener.routes.map((route, index) =>
    route.split === undefined
      ? route
      : {
          ...route,
          split: route.split.map((t) => {
            const typed = values[splitFieldName(index, t.pool)];
            // Sent as typed (a non-number too): the API's validation names the field.
            return { pool: t.pool, weight: typed === undefined || typed === '' ? t.weight : Number.isFinite(Number(typed)) ? Number(typed) : typed };
          }),
        },
  );
  return body;
}
