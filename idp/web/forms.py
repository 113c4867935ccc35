"""The forms parents fill in, with Dutch labels and messages (Flask-WTF adds CSRF).

Labels and messages are lazy: translated when a page shows them, in the parent's language.
"""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Regexp

CODE_MESSAGE = _l("Vul de 6 cijfers in die de app Google Authenticator nu laat zien.")
TOO_LONG = _l("Dit is te lang: gebruik hoogstens %(max)d tekens.")

#: Field lengths (OWASP ASVS 5 V2.2.1): generous for people, small enough for the server.
MAX_ORGANISATION = 32  # Organisation.code
MAX_USERNAME = 150
#: Long passphrases are welcome (NIST SP 800-63B: at least 64); argon2id hashes any length
#: at the same cost, so the limit only stops absurd bodies.
MAX_PASSWORD = 1024
MAX_CODE = 6  # spaces are taken out first


def too_long(maximum: int, in_page: bool = True) -> Length:
    """At most ``maximum`` characters; ``in_page=False`` leaves out the ``maxlength`` that
    WTForms would put on the field, where the browser cutting off a paste would be wrong."""
    validator = Length(max=maximum, message=TOO_LONG)
    if not in_page:
        validator.field_flags = {}
    return validator


def without_spaces(value: str | None) -> str | None:
    """A code pasted as "123 456" or with a space around it counts as typed."""
    return "".join(value.split()) if value else value


#: Digits on a phone's keyboard, the code from the app or a text message filled in for the
#: parent, and no maxlength: it would cut off a code pasted with spaces (WCAG 3.3.8).
CODE_INPUT = {"inputmode": "numeric", "autocomplete": "one-time-code", "pattern": "[0-9 ]*",
              "autocapitalize": "none", "spellcheck": "false"}


def code_field(label=_l("Code")):
    return StringField(
        label,
        filters=[without_spaces],
        # The pattern bounds the length too.
        validators=[DataRequired(CODE_MESSAGE), Regexp(r"^\d{6}$", message=CODE_MESSAGE)],
        render_kw=CODE_INPUT,
    )


def new_password_fields():
    """"Nieuw wachtwoord" and "Herhaal wachtwoord" (activation, reset, account page)."""
    password = PasswordField(
        _l("Nieuw wachtwoord"),
        validators=[DataRequired(_l("Vul een wachtwoord in.")), too_long(MAX_PASSWORD)],
        render_kw={"autocomplete": "new-password"},
    )
    password_again = PasswordField(
        _l("Herhaal wachtwoord"),
        validators=[
            DataRequired(_l("Vul het wachtwoord nog een keer in.")),
            EqualTo("password", _l("De twee wachtwoorden zijn niet hetzelfde. Probeer het opnieuw.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )
    return password, password_again


def current_password_field(label=_l("Wachtwoord"), message=_l("Vul uw wachtwoord in.")):
    """The account's own password (sign-in, the account page, a new app's link)."""
    return PasswordField(label, validators=[DataRequired(message), too_long(MAX_PASSWORD)],
                         render_kw={"autocomplete": "current-password"})


class ActivationForm(FlaskForm):
    password, password_again = new_password_fields()
    code = code_field()


def organisation_field():
    """The organisation, chosen from a list the page fills in (sign-in, forgotten password)."""
    return SelectField(
        _l("Organisatie"),
        validators=[DataRequired(_l("Kies uw organisatie.")), too_long(MAX_ORGANISATION)],
        validate_choice=False,
    )


class LoginForm(FlaskForm):
    organisation = organisation_field()
    username = StringField(
        _l("Gebruikersnaam"),
        validators=[DataRequired(_l("Vul uw gebruikersnaam in.")), too_long(MAX_USERNAME)],
        render_kw={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"},
    )
    password = current_password_field()
    code = StringField(
        _l("Code"),
        filters=[without_spaces],
        validators=[too_long(MAX_CODE, in_page=False)],
        render_kw=CODE_INPUT,
    )


class ConfirmForm(FlaskForm):
    """A form with only the CSRF token: for buttons like "Uitloggen"."""


# --- self-service -------------------------------------------------------------------------------
MAX_IDENTIFIER = 320  # an e-mail address


class ForgottenPasswordForm(FlaskForm):
    organisation = organisation_field()
    identifier = StringField(
        _l("Gebruikersnaam of e-mailadres"),
        validators=[DataRequired(_l("Vul uw gebruikersnaam of uw e-mailadres in.")),
                    too_long(MAX_IDENTIFIER)],
        render_kw={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"},
    )


class PasswordChangeForm(FlaskForm):
    current_password = current_password_field(_l("Huidig wachtwoord"),
                                              _l("Vul uw huidige wachtwoord in."))
    code = code_field(_l("Code uit de app"))
    password, password_again = new_password_fields()


class CurrentPasswordForm(FlaskForm):
    """The account's own password, to prove more than the e-mail (a new app)."""

    password = current_password_field()


class CodeForm(FlaskForm):
    """Only a code: the first code of a newly scanned app, a staff member's second sign-in
    step, the console's step-up."""

    code = code_field()
