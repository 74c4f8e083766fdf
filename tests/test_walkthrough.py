"""docs/walkthrough.md runs: its ```pycon examples print what the page shows, and its links resolve."""

import doctest
import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "walkthrough.md"


class MarkdownParser(doctest.DocTestParser):
    """Reads only the ```pycon blocks of a Markdown file. Every other line becomes a blank line,
    so a failure still reports the example's line number in the .md file."""

    def parse(self, string, name="<string>"):
        kept, inside = [], False
        for line in string.splitlines():
            fence = line.strip().startswith("```")
            kept.append(line if inside and not fence else "")
            if fence:
                inside = line.strip() == "```pycon"
        return super().parse("\n".join(kept) + "\n", name)


def test_every_example_prints_what_the_page_shows(mnist_dir, monkeypatch):
    monkeypatch.setenv("TINYCNN_DATA", str(mnist_dir))
    failures, tried = doctest.testfile(str(DOC), module_relative=False, parser=MarkdownParser(),
                                       optionflags=doctest.ELLIPSIS, verbose=False, report=True)
    assert tried > 40
    assert failures == 0, "see the doctest report above for the failing example and its line in walkthrough.md"


def test_the_parser_keeps_only_pycon_blocks():
    text = "```pycon\n>>> 1 + 1\n2\n```\n>>> 'outside'\n```python\n>>> 'python block'\n```\n"
    examples = MarkdownParser().get_examples(text)
    assert [(e.source, e.want, e.lineno) for e in examples] == [("1 + 1\n", "2\n", 1)]


def test_links_point_at_files_that_exist():
    links = re.findall(r"\]\((\.\./[^)#]+)", DOC.read_text())
    assert len(links) >= 10
    missing = [link for link in links if not (DOC.parent / link).exists()]
    assert not missing


def test_each_section_links_to_its_code():
    sections = DOC.read_text().split("\n## ")[1:]
    assert len(sections) == 8
    assert all(re.search(r"\]\(\.\./tinycnn/", section) for section in sections)
