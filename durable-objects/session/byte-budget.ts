/**
 * What a session sends at once — a replay of its log, a page of its messages — is bounded in bytes, not only
 * in count: one message may be a pasted document of a megabyte, and a hundred of them went out together.
 */

/**
 * A budget of `maxBytes`: each call spends `bytes` if they fit and says whether they did. The first spend always
 * fits, so a reader always gets somewhere, even past an item bigger than the whole budget.
 */
export function byteBudget(maxBytes: number): (bytes: number) => boolean {
  let spent = 0;
  return (bytes) => {
    if (spent > 0 && spent + bytes > maxBytes) return false;
    spent += bytes;
    return true;
  };
}
