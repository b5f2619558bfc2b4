export interface PresentedKey {
  scheme: 'bearer' | 'basic';
  key: string;
}

/**
 * The key a request presents: `Authorization: Bearer <key>`, or HTTP Basic with the
 * key as the password (any user name) — what a browser sends after its login prompt,
 * since a navigation cannot carry a Bearer header. A Basic header without a password
 * presents the empty key. Null when there is no such header.
 */
export function presentedCredential(header: string | undefined): PresentedKey | null {
  const match = /^(Bearer|Basic)\s+(\S+)$/i.exec(header ?? '');
  if (!match) return null;
  if (match[1].toLowerCase() === 'bearer') return { scheme: 'bearer', key: match[2] };
  const userAndPassword = Buffer.from(match[2], 'base64').toString('utf8');
  const colon = userAndPassword.indexOf(':');
  return { scheme: 'basic', key: colon < 0 ? '' : userAndPassword.slice(colon + 1) };
}
