"""The sign-in page writes its inputs in plain markup (templates/login/login.html), not through
WTForms' widgets. They must stay what WTForms renders for the form in idp/web/forms.py: the same
attributes (required, maxlength, autocomplete, inputmode, ...), values and escaping, with and
without errors. A change of the form that the page does not follow fails here."""

import re

import pytest
from flask import render_template

from idp.web.forms import LoginForm

#: The fields the page shows with a hint under the label (aria-describedby names it).
HINTED = {"username", "code"}
ODD_TEXT = "a\"b<c>&d'e é  f"


def page_and_form(app, data: dict | None, errors: dict | None = None):
    method = "GET" if data is None else "POST"
    with app.test_request_context("/inloggen", method=method, data=data):
        form = LoginForm()
        form.organisation.choices = [("", "")]
        if data is not None:
            form.validate()
        for name, message in (errors or {}).items():
            getattr(form, name).errors.append(message)
        html = render_template("login/login.html", form=form, organisations=[], show_code=True)
        expected = {"csrf_token": str(form.csrf_token())}
        for name in ("username", "password", "code"):
            field = getattr(form, name)
            described = ([f"{name}-hint"] if name in HINTED else []) + (
                [f"{name}-error"] if field.errors else [])
            attributes = {"aria_describedby": " ".join(described)} if described else {}
            if field.errors:
                attributes["aria_invalid"] = "true"
            expected[name] = str(field(**attributes))
    return html, expected


def inputs(html: str) -> dict[str, str]:
    return {re.search(r' name="([^"]+)"', tag).group(1): tag
            for tag in re.findall(r"<input [^>]*>", html)}


@pytest.mark.parametrize("data, errors", [
    (None, None),  # the page as first shown
    ({"organisation": "PO2806", "username": ODD_TEXT, "password": ODD_TEXT,
      "code": " 12 34 56 "}, None),  # what was typed comes back escaped (not the password)
    ({"organisation": "", "username": "", "password": "", "code": ""},
     {"code": "Vul de code in."}),  # every field wrong
    ({"organisation": "PO2806", "username": "u" * 151, "password": "p", "code": "1234567"},
     None),  # too long
], ids=["fresh", "typed", "empty", "too-long"])
def test_each_input_is_what_wtforms_renders_for_it(app, data, errors):
    html, expected = page_and_form(app, data, errors)
    assert inputs(html) == expected
    if data and data["username"] == ODD_TEXT:
        assert 'value="a&#34;b&lt;c&gt;&amp;d&#39;e é  f"' in expected["username"]
        assert 'value="123456"' in expected["code"]
        assert ODD_TEXT not in html and 'type="password" value=""' in expected["password"]
