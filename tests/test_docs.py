"""The documentation's links hold: every image and relative link in README.md and docs/**/*.md
points at a file that exists, and every role guide exists in Chinese and English."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "guide"
ROLES = ("purchaser", "clerk", "sales", "finance", "store-manager", "regional-manager", "admin")
LANGS = ("zh", "en")

# [text](target) and ![alt](target), with an optional "title"; <img src> and <a href> in HTML.
MD_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HTML_LINK = re.compile(r"<(?:img|a)\b[^>]*?\b(?:src|href)=\"([^\"]+)\"", re.IGNORECASE)
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")


def markdown_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def local_targets(text: str) -> list[str]:
    """The link targets of a Markdown text that name files of the repository (not URLs, not
    server paths such as /api/docs, not anchors of the same page); code is skipped."""
    text = INLINE_CODE.sub("", FENCE.sub("", text))
    out = []
    for target in MD_LINK.findall(text) + HTML_LINK.findall(text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE) or target.startswith(("#", "/")):
            continue
        out.append(target.split("#", 1)[0].split("?", 1)[0])
    return [t for t in out if t]


def test_the_link_finder_sees_markdown_and_html_links_but_not_code_or_urls() -> None:
    text = ('See [a](guide/a.md#x), ![b](../img/b.png "B"), <img src="c.png" width="3">, '
            '[web](https://example.com), [server](/api/docs), [top](#top), `[no](code.md)`\n'
            "```\n[no](fenced.md)\n```\n")
    assert local_targets(text) == ["guide/a.md", "../img/b.png", "c.png"]


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_and_image_exists(path: Path) -> None:
    missing = [t for t in local_targets(path.read_text(encoding="utf-8"))
               if not (path.parent / t).exists()]
    assert not missing, f"{path.relative_to(ROOT)} links to missing files: {missing}"


@pytest.mark.parametrize("role", ROLES)
def test_every_role_guide_exists_in_both_languages_with_screenshots(role: str) -> None:
    for lang in LANGS:
        guide = GUIDE / lang / f"{role}.md"
        assert guide.is_file(), f"missing {guide.relative_to(ROOT)}"
        text = guide.read_text(encoding="utf-8")
        other = "en" if lang == "zh" else "zh"
        assert f"../{other}/{role}.md" in text, f"{guide.name} ({lang}) must link its translation"
        images = [t for t in local_targets(text) if t.endswith(".png")]
        assert images, f"{guide.relative_to(ROOT)} has no screenshot"
        assert all(f"/img/guide/{lang}/" in t for t in images), \
            f"{guide.relative_to(ROOT)} shows screenshots of the other language"


def test_the_guide_index_links_every_role_guide() -> None:
    index = (GUIDE / "README.md").read_text(encoding="utf-8")
    for role in ROLES:
        for lang in LANGS:
            assert f"({lang}/{role}.md)" in index
