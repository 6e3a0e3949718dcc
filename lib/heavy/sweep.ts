/**
 * The loop of an hourly sweep: take a page of rows (at most `page`, and no more than `max` in all), remove
 * it, take the next, until a page comes back short. Returns how many rows were removed.
 */
export async function sweepPages<R>(max: number, page: number, take: (limit: number) => Promise<R[]>, remove: (rows: R[]) => Promise<void>): Promise<number> {
  let swept = 0;
  while (swept < max) {
    const rows = await take(Math.min(page, max - swept));
    if (!rows.length) break;
    await remove(rows);
    swept += rows.length;
    if (rows.length < page) break;
  }
  return swept;
}

/** The same loop for a sweep that deletes a page in one statement: `remove(limit)` says how many rows it deleted. */
export async function deletePages(max: number, page: number, remove: (limit: number) => Promise<number>): Promise<number> {
  return sweepPages(max, page, async (limit) => Array.from({ length: await remove(limit) }), async () => {});
}
