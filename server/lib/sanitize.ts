/**
 * Free text from users (names, descriptions, comments) is stored as plain text with no markup: every tag and
 * attribute is removed, entity-encoded markup is decoded and removed too, and what remains is plain characters the
 * React app can render as text.
 */
import { createRequire } from 'node:module';
import type DOMPurifyModule from 'isomorphic-dompurify';

type Purifier = typeof DOMPurifyModule;
let purifier: Purifier | undefined;

/**
 * DOMPurify brings a whole DOM (jsdom: about a second and ~90 MB), so only processes that sanitize load it: the api
 * before it listens (warmSanitizer), anything else synchronously on first use.
 */
export async function warmSanitizer(): Promise<void> {
  purifier ??= (await import('isomorphic-dompurify')).default;
}

function loadPurifier(): Purifier {
  purifier ??= createRequire(import.meta.url)('isomorphic-dompurify') as Purifier;
  return purifier;
}

const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'" };

function decodeEntities(value: string): string {
  return value.replace(/&(?:amp|lt|gt|quot|#39);/g, (entity) => ENTITIES[entity] ?? entity);
}

export function sanitizeText(value: string): string {
  let current = value.normalize('NFC');
  // Repeat until stable: `&lt;script&gt;` decodes to `<script>`, which the next round removes.
  for (let round = 0; round < 5; round++) {
    const next = decodeEntities(
      loadPurifier().sanitize(current, { ALLOWED_TAGS: [], ALLOWED_ATTR: [], KEEP_CONTENT: true }),
    );
    if (next === current) break;
    current = next;
  }
  // Control characters other than tab and newline have no place in a name or description.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  return current.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/g, '').trim();
}
