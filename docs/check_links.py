"""Check the internal links of the built HTML documentation.

Every relative ``href`` and ``src`` in every page must name a file of the build, and every
``#fragment`` an ``id`` (or ``name``) in its target page. External links (with a scheme) are
not followed: the check runs offline. Usage: ``python docs/check_links.py docs/_build/html``.
Exit status 1 lists the broken links.
"""

import os
import sys
from html.parser import HTMLParser
from urllib.parse import unquote, urlsplit


class _Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids, self.links = set(), []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("id", "name"):
            if a.get(key):
                self.ids.add(a[key])
        for key in ("href", "src"):
            if a.get(key) is not None and not (tag == "link" and key == "href"
                                               and a.get("rel") in ("preconnect", "dns-prefetch")):
                self.links.append(a[key])


def _parse(path, cache):
    if path not in cache:
        page = _Page()
        with open(path, encoding="utf-8") as f:
            page.feed(f.read())
        cache[path] = page
    return cache[path]


def check(root):
    """Return a list of "page: link (reason)" for every broken internal link under `root`."""
    root = os.path.abspath(root)
    cache, broken, pages = {}, [], 0
    for dirpath, dirs, files in os.walk(root):
        if dirpath == root:     # the theme's static assets include unrendered templates
            dirs[:] = [d for d in dirs if d not in ("_static", "_sources", "_images")]
        for name in files:
            if not name.endswith(".html"):
                continue
            pages += 1
            path = os.path.join(dirpath, name)
            for link in _parse(path, cache).links:
                parts = urlsplit(link)
                if parts.scheme or parts.netloc or link.startswith("//"):
                    continue
                target = path if not parts.path else os.path.normpath(
                    os.path.join(dirpath, unquote(parts.path)))
                if os.path.isdir(target):
                    target = os.path.join(target, "index.html")
                rel = os.path.relpath(path, root)
                if not os.path.exists(target):
                    broken.append(f"{rel}: {link} (no such file)")
                elif parts.fragment and target.endswith(".html"):
                    if unquote(parts.fragment) not in _parse(target, cache).ids:
                        broken.append(f"{rel}: {link} (no such anchor)")
    if pages == 0:
        broken.append(f"{root}: no HTML pages")
    return broken


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    root = argv[0] if argv else os.path.join(os.path.dirname(__file__), "_build", "html")
    broken = check(root)
    for line in broken:
        print(line, file=sys.stderr)
    print(f"internal links: {len(broken)} broken", file=sys.stderr)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
