/**
 * Writes a stream of unknown length to R2 in fixed-size pieces: R2 needs the length of a single put, so
 * anything larger than one piece becomes a multipart upload (R2 wants every part but the last the same
 * size, at least 5 MiB). Memory holds one piece. Exceeding `maxBytes` aborts the upload and throws.
 */
export class TooLarge extends Error {
  constructor(readonly maxBytes: number) {
    super(`the upload exceeds ${maxBytes} bytes`);
  }
}

export async function streamToR2(bucket: R2Bucket, key: string, body: ReadableStream<Uint8Array>, o: { partBytes: number; maxBytes: number; contentType?: string }): Promise<number> {
  const httpMetadata = o.contentType ? { contentType: o.contentType } : undefined;
  let piece = new Uint8Array(o.partBytes);
  let fill = 0;
  let total = 0;
  let upload: R2MultipartUpload | null = null;
  const parts: R2UploadedPart[] = [];
  try {
    for await (const chunk of body) {
      total += chunk.byteLength;
      if (total > o.maxBytes) throw new TooLarge(o.maxBytes);
      let from = 0;
      while (from < chunk.byteLength) {
        const n = Math.min(o.partBytes - fill, chunk.byteLength - from);
        piece.set(chunk.subarray(from, from + n), fill);
        fill += n;
        from += n;
        if (fill === o.partBytes) {
          upload ??= await bucket.createMultipartUpload(key, { httpMetadata });
          parts.push(await upload.uploadPart(parts.length + 1, piece));
          piece = new Uint8Array(o.partBytes);
          fill = 0;
        }
      }
    }
    if (!upload) {
      await bucket.put(key, piece.subarray(0, fill), { httpMetadata });
      return total;
    }
    if (fill > 0) parts.push(await upload.uploadPart(parts.length + 1, piece.subarray(0, fill)));
    await upload.complete(parts);
    return total;
  } catch (err) {
    if (upload) await upload.abort().catch(() => undefined);
    throw err;
  }
}
