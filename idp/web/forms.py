"""The forms parents fill in, with Dutch labels and messages (Flask-WTF adds CSRF).

Labels and messages are lazy: translated when a page shows them, in the parent's language.
"""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Regexp

CODE_MESSAGE = _l("Vul de 6 cijfers in die de app Google Authenticator nu laat zien.")


def code_field(label=_l("Code")):
    return StringField(
        label,
        validators=[DataRequired(CODE_MESSAGE), Regexp(r"^\s*\d{3}\s?\d{3}\s*$", message=CODE_MESSAGE)],
        render_kw={"inputmode": "numeric", "autocomplete": "one-time-code", "maxlength": 7},
    )


# WTForms' own messages are English: every validator here gets ours.
PASSWORD_TOO_LONG = _l("Kies een wachtwoord van hoogstens 256 tekens.")


class ActivationForm(FlaskForm):
    password = PasswordField(
        _l("Nieuw wachtwoord"),
        validators=[DataRequired(_l("Vul een wachtwoord in.")),
                    Length(max=256, message=PASSWORD_TOO_LONG)],
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
    code = code_field()


class LoginForm(FlaskForm):
    organisation = SelectField(
        _l("Organisatie"),
        validators=[DataRequired(_l("Kies uw organisatie."))],
        validate_choice=False,
    )
    username = StringField(
        _l("Gebruikersnaam"),
        validators=[DataRequired(_l("Vul uw gebruikersnaam in.")),
                    Length(max=150, message=_l("Een gebruikersnaam is hoogstens 150 tekens lang."))],
        render_kw={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"},
    )
    password = PasswordField(
        _l("Wachtwoord"),
        validators=[DataRequired(_l("Vul uw wachtwoord in.")),
                    Length(max=256, message=PASSWORD_TOO_LONG)],
        render_kw={"autocomplete": "current-password"},
    )
    code = StringField(
        _l("Code"),
        validators=[Length(max=7, message=CODE_MESSAGE)],
        render_kw={"inputmode": "numeric", "autocomplete": "one-time-code", "maxlength": 7},
    )


class ConfirmForm(FlaskForm):
    """A form with only the CSRF token: for buttons like "Uitloggen"."""
