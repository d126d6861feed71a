"""User-supplied strings become text in HTML and Markdown, whatever they contain."""

import html

from markdown_it import MarkdownIt

from vizcache.viewer.text import as_html, as_markdown

HOSTILE = ["<img src=x onerror=alert(1)>", "<details open ontoggle=alert(1)>", "[click](javascript:alert(1))",
           "**bold** _it_ `code` # head", "a & b 'q' \"qq\" \\ | ~ > <", "C:\\data\\<script>x</script>"]


def test_as_html_leaves_no_markup():
    for text in HOSTILE:
        escaped = as_html(text)
        assert "<" not in escaped and ">" not in escaped and '"' not in escaped and "'" not in escaped


def test_as_markdown_renders_back_to_exactly_the_text():
    md = MarkdownIt("commonmark")
    for text in HOSTILE:
        rendered = md.render(as_markdown(text))
        assert "<img" not in rendered and "<details" not in rendered and "<a " not in rendered and "<script" not in rendered
        assert "<strong>" not in rendered and "<em>" not in rendered and "<code>" not in rendered and "<h1>" not in rendered
        assert rendered.startswith("<p>") and html.unescape(rendered.strip()[3:-4]) == text  # exactly the text, as text
