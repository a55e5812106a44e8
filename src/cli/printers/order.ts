// The two string orders kubectl's output depends on.

/** Go's sort.Strings / sets.List(): UTF-8 byte order (JS's default sort compares UTF-16 units instead). */
export function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

const isLetter = (r: string): boolean => /\p{L}/u.test(r);
const isDigit = (r: string): boolean => /\p{Nd}/u.test(r);
const rune = (r: string): number => r.codePointAt(0)!;
const digitValue = (r: string): number => rune(r) - 48;

/**
 * gopkg.in/yaml.v2 (v2.4) keyList.Less, the order of mapping keys in `kubectl get -o yaml`: letters sort after
 * non-letters unless a number just ended ("e2b" < "e21a"), and runs of digits compare as numbers ("a9" < "a10").
 * Transcribed with its quirks, e.g. the digit run is read from the first differing rune, not from the start of
 * the number.
 */
function yamlKeyLess(a: string, b: string): boolean {
  const ar = [...a];
  const br = [...b];
  let digits = false;
  for (let i = 0; i < ar.length && i < br.length; i++) {
    if (ar[i] === br[i]) {
      digits = isDigit(ar[i]);
      continue;
    }
    const al = isLetter(ar[i]);
    const bl = isLetter(br[i]);
    if (al && bl) return rune(ar[i]) < rune(br[i]);
    if (al || bl) return digits ? al : bl;
    let an = 0;
    let bn = 0;
    if (ar[i] === '0' || br[i] === '0') {
      for (let j = i - 1; j >= 0 && isDigit(ar[j]); j--) {
        if (ar[j] !== '0') {
          an = 1;
          bn = 1;
          break;
        }
      }
    }
    let ai = i;
    for (; ai < ar.length && isDigit(ar[ai]); ai++) an = an * 10 + digitValue(ar[ai]);
    let bi = i;
    for (; bi < br.length && isDigit(br[bi]); bi++) bn = bn * 10 + digitValue(br[bi]);
    if (an !== bn) return an < bn;
    if (ai !== bi) return ai < bi;
    return rune(ar[i]) < rune(br[i]);
  }
  return ar.length < br.length;
}

export function yamlKeyOrder(a: string, b: string): number {
  if (yamlKeyLess(a, b)) return -1;
  return yamlKeyLess(b, a) ? 1 : 0;
}
