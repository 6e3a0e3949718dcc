/**
 * Reads an R2 object range by range (CIO_ANALYSIS_READ_BYTES each) and hands each range to the caller,
 * requesting the next range before the caller works on the current one, so that R2's latency overlaps the
 * parsing instead of adding to it. At most two ranges are held at once.
 */
export interface RangeSource {
  /** The object's size in bytes. */
  size: number;
  /** Bytes [offset, offset + length), or the whole object when `length` is undefined. */
  read(offset: number, length: number | undefined): Promise<Uint8Array>;
}

export interface RangeReadStats {
  /** Time spent waiting for R2 after the previous range was handled (the latency prefetching did not hide). */
  waitMs: number;
  ranges: number;
}

export async function readRanges(source: RangeSource, step: number, onRange: (bytes: Uint8Array, end: number) => Promise<void> | void): Promise<RangeReadStats> {
  const stats: RangeReadStats = { waitMs: 0, ranges: 0 };
  // A small (or empty) file is read whole: a range on an empty object is not satisfiable.
  if (source.size <= step) {
    const t = Date.now();
    const bytes = await source.read(0, undefined);
    stats.waitMs += Date.now() - t;
    stats.ranges++;
    await onRange(bytes, bytes.byteLength);
    return stats;
  }
  let offset = 0;
  let next: Promise<Uint8Array> | null = source.read(0, step);
  while (next) {
    const t = Date.now();
    const bytes: Uint8Array = await next;
    stats.waitMs += Date.now() - t;
    stats.ranges++;
    offset += bytes.byteLength;
    next = bytes.byteLength === step && offset < source.size ? source.read(offset, step) : null;
    // If the caller throws, the prefetched range is abandoned: its failure must not surface as unhandled.
    next?.catch(() => undefined);
    await onRange(bytes, offset);
  }
  return stats;
}
