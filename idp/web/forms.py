"""The forms parents fill in, with Dutch labels and messages (Flask-WTF adds CSRF)."""

from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Regexp

CODE_MESSAGE = "Vul de 6 cijfers in die de app Google Authenticator nu laat zien."


def code_field(label="Code"):
    return StringField(
        label,
        validators=[DataRequired(CODE_MESSAGE), Regexp(r"^\s*\d{3}\s?\d{3}\s*$", message=CODE_MESSAGE)],
        render_kw={"inputmode": "numeric", "autocomplete": "one-time-code", "maxlength": 7},
    )


class ActivationForm(FlaskForm):
    password = PasswordField(
        "Nieuw wachtwoord",
        validators=[DataRequired("Vul een wachtwoord in."), Length(max=256)],
        render_kw={"autocomplete": "new-password"},
    )
    password_again = PasswordField(
        "Herhaal wachtwoord",
        validators=[
            DataRequired("Vul het wachtwoord nog een keer in."),
            EqualTo("password", "De twee wachtwoorden zijn niet hetzelfde. Probeer het opnieuw."),
        ],
        render_kw={"autocomplete": "new-password"},
    )
    code = code_field()


class LoginForm(FlaskForm):
    organisation = SelectField(
        "Organisatie", validators=[DataRequired("Kies uw organisatie.")], validate_choice=False
    )
    username = StringField(
        "Gebruikersnaam",
        validators=[DataRequired("Vul uw gebruikersnaam in."), Length(max=150)],
        render_kw={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"},
    )
    password = PasswordField(
        "Wachtwoord",
        validators=[DataRequired("Vul uw wachtwoord in."), Length(max=256)],
        render_kw={"autocomplete": "current-password"},
    )
    code = StringField(
        "Code",
        validators=[Length(max=7)],
        render_kw={"inputmode": "numeric", "autocomplete": "one-time-code", "maxlength": 7},
    )


class ConfirmForm(FlaskForm):
    """A form with only the CSRF token: for buttons like "Uitloggen"."""
