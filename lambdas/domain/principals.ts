import { isEmail } from './policy';

/**
 * Who a principal is, whatever its spelling. An email address names the same person in any
 * case (`Alice@X.com` is `alice@x.com`), so email-shaped principals are lower-cased; any other
 * name (`agent://myorg/Reports`) is an identifier and keeps its case. Keys are stored this way
 * when they are created, and every comparison goes through here too, so that keys and intents
 * stored before (an agent key named `Alice@X.com`, say) compare the same way.
 */
export function canonicalPrincipal(name: string): string {
  const trimmed = name.trim();
  return isEmail(trimmed) ? trimmed.toLowerCase() : name;
}

export function samePrincipal(a: string, b: string): boolean {
  return canonicalPrincipal(a) === canonicalPrincipal(b);
}
