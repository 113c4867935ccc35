"""What the parent's pages say and where their fields are: the one place the browser tests and
the handbook know the pages' words, so a text change is one edit here."""

from dataclasses import dataclass, field

LANGUAGES = ("nl", "en")


@dataclass(frozen=True)
class Page:
    path: str
    heading: dict[str, str]
    fields: tuple[str, ...] = ()  # ids of the form's fields, top to bottom
    button: dict[str, str] = field(default_factory=dict)  # the form's submit button


SIGN_IN = Page(
    "/inloggen",
    {"nl": "Inloggen", "en": "Sign in"},
    ("organisation", "username", "password", "code"),
    {"nl": "Inloggen", "en": "Sign in"},
)
ACTIVATION = Page(
    "/activeren",
    {"nl": "Account activeren", "en": "Activate your account"},
    ("password", "password_again", "code"),
    {"nl": "Opslaan", "en": "Save"},
)
ACTIVATION_PROBLEM = Page("/activeren", ACTIVATION.heading)
SIGNED_IN = Page("/", {"nl": "U bent ingelogd", "en": "You are signed in"})
LOGOUT = Page(
    "/uitloggen",
    {"nl": "Uitloggen", "en": "Sign out"},
    (),
    {"nl": "Uitloggen", "en": "Sign out"},
)
LOGGED_OUT = Page("/uitloggen", {"nl": "U bent uitgelogd", "en": "You are signed out"})
ERROR = Page("/", {"nl": "Er ging iets mis", "en": "Something went wrong"})

#: Messages the parent reads on the way.
ACTIVATED = {"nl": "Uw account is geactiveerd. U kunt nu inloggen.",
             "en": "Your account is activated. You can sign in now."}
IDLE_LOGGED_OUT = {"nl": "U bent uitgelogd", "en": "You are signed out"}

#: The parts of every page.
PERSON_ICON = "header.top a.person"  # top right: log out
LANGUAGE_SWITCH = "nav.languages"
ERROR_SUMMARY = ".error-summary"
CODE_FIELD = "code-field"  # the wrapper that hides the Code field
TOTP_KEY = "totp-key"
QR = "img.qr"

#: The staff console (/beheer): the headings and buttons the staff actor and its tests look for.
CONSOLE = Page("/beheer", {"nl": "Beheer", "en": "Administration"})
CONSOLE_PARENTS = Page("/beheer/ouders", {"nl": "Ouders", "en": "Parents"}, ("q", "status"),
                       {"nl": "Zoeken", "en": "Search"})
CONSOLE_STEP_UP = Page("/beheer/bevestigen", {"nl": "Bevestig met een code",
                                              "en": "Confirm with a code"},
                       ("code",), {"nl": "Bevestigen", "en": "Confirm"})
#: An action on a parent's page: the reason, the box to tick, the button.
REASON_FIELD = "reason"
CONFIRM_BOX = "confirm"
UNLOCK = {"nl": "Ontgrendelen", "en": "Unlock"}
UNLOCKED = {"nl": "ontgrendeld", "en": "unlocked"}
RESET_APP = {"nl": "App resetten (telefoon kwijt of nieuw)",
             "en": "Reset the app (phone lost or new)"}
