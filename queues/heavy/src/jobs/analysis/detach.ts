/**
 * A copy of `s` that does not keep alive the string it was cut from. V8 represents a substring of 13 or more
 * characters as a view into its parent, so a field the CSV parser cut from a 1 MB decoded range pins the
 * whole range for as long as the field is kept: a group-by key or a top value first seen in each range
 * pinned every range of the file (measured: 150 such keys over 50 ranges kept 52 MB alive). Whatever the
 * analysis keeps beyond the current row goes through here. Concatenation then slicing forces V8 to copy the
 * characters into a string of their own; shorter strings are copies already.
 */
const VIEW_MIN_LENGTH = 13;

export function detach(s: string): string {
  return s.length < VIEW_MIN_LENGTH ? s : (" " + s).slice(1);
}
