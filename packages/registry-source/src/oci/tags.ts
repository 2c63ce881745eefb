/**
 * The next page of a tag list from its `Link` header (`</v2/<repo>/tags/list?n=100&last=x>;
 * rel="next"`), as the path under the repository (`tags/list?n=100&last=x`), or undefined on the
 * last page. A link that leaves the repository's tag list is ignored rather than followed.
 */
export function nextTagsPage(link: string | null | undefined, repository: string): string | undefined {
  if (!link) return undefined;
  for (const part of link.split(',')) {
    const match = /<([^>]*)>\s*;(.*)$/.exec(part.trim());
    if (!match?.[1] || !/rel="?next"?/i.test(match[2] ?? '')) continue;
    let target: URL;
    try {
      target = new URL(match[1], 'http://registry.invalid');
    } catch {
      return undefined;
    }
    const prefix = `/v2/${repository}/`;
    if (target.pathname !== `${prefix}tags/list`) return undefined;
    return `tags/list${target.search}`;
  }
  return undefined;
}
