"""The console's forms (Flask-WTF adds CSRF): inviting a parent or a staff member."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField, StringField
from wtforms.validators import DataRequired

from idp.web.forms import MAX_USERNAME, too_long


class InviteForm(FlaskForm):
    name = StringField(_l("Naam"), validators=[DataRequired(_l("Vul de naam in.")), too_long(200)],
                       render_kw={"autocomplete": "off"})
    email = EmailField(_l("E-mailadres"),
                       validators=[DataRequired(_l("Vul het e-mailadres in.")), too_long(320)],
                       render_kw={"autocomplete": "off"})
    username = StringField(_l("Gebruikersnaam"), validators=[too_long(MAX_USERNAME)],
                           render_kw={"autocomplete": "off", "autocapitalize": "none",
                                      "spellcheck": "false"})


class StaffInviteForm(InviteForm):
    role = SelectField(_l("Rol"), validators=[DataRequired(_l("Kies een rol."))])
