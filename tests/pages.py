"""Reading pages the way a browser would: forms, their fields, and visible text."""

import re
from html import unescape
from html.parser import HTMLParser


class _FormParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self._select = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attrs.get("action"), "fields": {}, "hidden_ids": []})
        elif not self.forms:
            return
        elif tag == "input" and attrs.get("name"):
            self.forms[-1]["fields"][attrs["name"]] = attrs.get("value", "")
        elif tag == "select" and attrs.get("name"):
            self._select = attrs["name"]
            self.forms[-1]["fields"][self._select] = ""
        elif tag == "option" and self._select and "selected" in attrs:
            self.forms[-1]["fields"][self._select] = attrs.get("value", "")

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None


def forms(html: str) -> list[dict]:
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


def form_fields(html: str, index: int = 0) -> dict:
    """The fields of a form as a browser would submit them untouched."""
    return dict(forms(html)[index]["fields"])


def text(html: str) -> str:
    """Visible text, whitespace folded (good enough for asserting messages)."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def code_field_visible(html: str) -> bool:
    match = re.search(r'<div id="code-field"([^>]*)>', html)
    return bool(match) and "hidden" not in match.group(1)


def field_errors(html: str) -> dict[str, list[str]]:
    """The messages shown next to each field, by the field's id."""
    errors: dict[str, list[str]] = {}
    for field_id, message in re.findall(
        r'<p class="field-error" id="([^"]+)-error"[^>]*>(.*?)</p>', html, flags=re.S
    ):
        errors.setdefault(field_id, []).append(unescape(message).strip())
    return errors


def messages(html: str, kind: str = "error") -> list[str]:
    """The page-level messages (``<p class="message error">``, ``ok``), in page order."""
    return [
        unescape(text(m))
        for m in re.findall(rf'<p class="message {kind}"[^>]*>(.*?)</p>', html, flags=re.S)
    ]
