"""The parent handbook, generated: the demo in a temporary folder, the parent's path walked in a
real browser, and the handbook written as Markdown with screenshots
(``idp handbook build --out docs/handleiding``).

The words are in templates/handbook/README.md (the structure of the organisation's handbook);
the screenshots are of the pages as they are, so the handbook cannot drift from the product.
"""

import contextlib
import html
import io
import logging
import re
import shutil
import tempfile
import time
from email import message_from_bytes, policy
from pathlib import Path

from flask import render_template

from idp import clock, create_app, settings
from idp.browser import chrome
from idp.browser.live import LiveServer, free_port

#: Screenshots at a phone's width, most parents' only screen.
WIDTH, HEIGHT = chrome.PHONE
#: The password the parent chooses when she has forgotten hers.
NEW_PASSWORD = "zwemmen in de rotte bij nacht"
#: Colours per image: screenshots of text and flat colours need few, and stay small.
COLOURS = 96


def _settings(folder: Path, port: int) -> dict:
    """The embedded default in ``folder``, whatever this shell's IDP_* variables say."""
    config = {key: setting.default for key, setting in settings.SETTINGS.items()}
    config.update(
        IDP_ISSUER=f"http://127.0.0.1:{port}",
        IDP_INSTANCE_DIR=str(folder / "instance"),
        IDP_KEYS_DIR=str(folder / "keys"),
        IDP_DATABASE_URL=f"sqlite:///{folder / 'idp.sqlite3'}",
        IDP_DEMO_RP=True,
        IDP_WORKER="off",
        IDP_LOG_LEVEL="WARNING",
        IDP_LOG_FORMAT="text",
    )
    return config


def optimise(path: Path) -> None:
    """A palette PNG: a tenth of the size of the screenshot, the same to the eye."""
    try:
        from PIL import Image
    except ImportError:  # Pillow is in the test extra, like Selenium: keep the plain PNG
        return
    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=COLOURS, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)


class Camera:
    """Named screenshots into the handbook's img/ folder."""

    def __init__(self, driver, folder: Path):
        self.driver, self.folder = driver, folder
        self.taken: list[str] = []

    def __call__(self, name: str, element=None, full_page=False) -> str:
        path = self.folder / "img" / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        self.driver.execute_script("document.activeElement && document.activeElement.blur()")
        chrome.screenshot(self.driver, path, full_page=full_page, element=element)
        optimise(path)
        self.taken.append(name)
        return f"img/{name}.png"


def _welcome_mail(instance: Path, address: str) -> tuple[str, str, str, str]:
    """Subject, sender and HTML of the welcome e-mail to ``address`` (the demo also invites a
    staff member), and its activation link."""
    mails = [message_from_bytes(eml.read_bytes(), policy=policy.default)
             for eml in sorted((instance / "outbox").glob("*.eml"))]
    message = [mail for mail in mails if address in mail["To"]][-1]
    body = message.get_body(("html",)).get_content()
    link = re.search(r'href="([^"]*/activeren/[^"]+)"', body).group(1)
    return message["Subject"], message["From"], body, link


def _mail_page(subject: str, sender: str, body: str, issuer: str) -> str:
    """The e-mail as a mail program shows it; the link's token left out of the picture, and
    the address the demo's own (this walk's server has a port of its own)."""
    body = re.sub(r"(/activeren/)[A-Za-z0-9_-]+", r"\1…", body)
    body = body.replace(issuer, settings.SETTINGS["IDP_ISSUER"].default)
    inner = re.search(r"<body[^>]*>(.*)</body>", body, flags=re.S).group(1)
    return (
        '<!doctype html><html lang="nl"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<style>td a { word-break: break-all }</style></head>"
        '<body style="margin:0;font-family:Arial,sans-serif;font-size:16px;line-height:1.5;'
        'color:#1a1a1a">'
        '<div style="padding:12px 16px;background:#eef2f5;border-bottom:1px solid #ccc">'
        f"<div style='font-size:18px;font-weight:bold'>{html.escape(subject)}</div>"
        f"<div>{html.escape(sender)}</div></div>"
        f'<div style="padding:4px 16px">{inner}</div></body></html>'
    )


def walk(parent, camera, instance: Path, idle_seconds: int) -> dict:
    """The parent's path, as the handbook tells it; returns the images by name."""
    from selenium.webdriver.common.by import By

    from idp.browser.parent import authenticator_code

    driver = parent.driver
    images = {}
    subject, sender, body, link = _welcome_mail(instance, parent.email)
    page = instance / "welkom.html"
    page.write_text(_mail_page(subject, sender, body, parent.base_url), encoding="utf-8")
    driver.get(page.as_uri())
    images["email"] = camera("email", full_page=True)

    # First sign-in: the activation page, the app linked, the sign-in page that follows.
    parent.open(link)
    images["activation"] = camera("activation")
    parent.fill_activation()
    sections = driver.find_elements(By.CSS_SELECTOR, "main form section")
    images["password"] = camera("password", sections[0])
    images["app"] = camera("app", sections[1])
    images["save"] = camera("save", driver.find_element(By.CSS_SELECTOR, "main form button"))
    parent.press()
    images["activated"] = camera("activated")
    clock.advance(30)  # a new code for the next sign-in

    # Normal sign-in: the organisation first, then the Code field appears.
    images["sign-in"] = camera("sign-in")
    parent.choose_organisation(parent.org)
    parent.fill_sign_in()
    images["sign-in-filled"] = camera("sign-in-filled", full_page=True)
    parent.press()
    images["signed-in"] = camera("signed-in")

    # Logging out with the person icon top right, and the page after.
    images["person"] = camera("person", driver.find_element(By.CSS_SELECTOR, "header.top"))
    parent.log_out()
    images["logged-out"] = camera("logged-out")

    # Idle logout: ten minutes without using it, and the next page asks to sign in again.
    clock.advance(30)  # a new code
    parent.sign_in()
    clock.advance(idle_seconds + 1)
    parent.open("/")
    images["idle"] = camera("idle")

    # Forgotten password: from the sign-in page, an e-mail with a link, a new password.
    driver.find_element(By.LINK_TEXT, "Wachtwoord vergeten?").click()
    images["forgotten"] = camera("forgotten")
    parent.choose_organisation(parent.org)
    parent.type("identifier", parent.username)
    parent.press()
    images["forgotten-sent"] = camera("forgotten-sent")
    parent.open(_wait_for_link(instance, "/herstellen/"))
    clock.advance(30)
    parent.type("password", NEW_PASSWORD)
    parent.type("password_again", NEW_PASSWORD)
    parent.type("code", authenticator_code(parent.key))
    images["reset"] = camera("reset", full_page=True)
    parent.press()
    images["reset-done"] = camera("reset-done")

    # A new phone: with the old one, "Authenticator verplaatsen" on the account page.
    clock.advance(30)
    parent.sign_in(password=NEW_PASSWORD, path=None)
    images["account"] = camera("account", full_page=True)
    parent.open("/account/app-verplaatsen")
    clock.advance(30)
    parent.type("code", authenticator_code(parent.key))
    images["move-old"] = camera("move-old")
    parent.press()
    parent.read_key()
    clock.advance(30)  # the new phone's first code comes after the old phone's last one
    parent.type("code", authenticator_code(parent.key))
    images["move-new"] = camera("move-new", full_page=True)
    parent.press()
    images["move-done"] = camera("move-done")
    parent.open("/telefoon-kwijt")
    images["lost-phone"] = camera("lost-phone", full_page=True)

    images["help"] = camera("help", driver.find_element(By.TAG_NAME, "footer"))
    return images


def _wait_for_link(instance: Path, path: str, seconds: float = 10) -> str:
    """The link in the newest e-mail: self-service mails go out just after the answer."""
    deadline = time.monotonic() + seconds
    while True:
        for eml in sorted((instance / "outbox").glob("*.eml"), reverse=True):
            text = message_from_bytes(eml.read_bytes(), policy=policy.default).get_body(
                ("plain",)).get_content()
            found = re.search(r"(\S+" + re.escape(path) + r"\S+)", text)
            if found:
                return found.group(1)
        if time.monotonic() > deadline:
            raise RuntimeError(f"no e-mail with a {path} link arrived")
        time.sleep(0.2)


def build(out: Path, echo=print) -> list[Path]:
    """Write the handbook into ``out`` (README.md and img/); returns the files written."""
    from idp.browser.parent import Parent
    from idp.cli import demo

    driver = chrome.start(size=(WIDTH, HEIGHT))  # first: says what to install when missing
    folder = Path(tempfile.mkdtemp(prefix="idp-handbook-"))
    server = None
    root_level = logging.getLogger().level  # given back afterwards (the tests log at INFO)
    try:
        port = free_port()
        logging.disable(logging.WARNING)  # "sessions live in this process only": as meant
        app = create_app(_settings(folder, port))
        logging.disable(logging.NOTSET)
        logging.getLogger().setLevel(logging.WARNING)  # the walk's requests are no news here
        with app.app_context(), contextlib.redirect_stderr(io.StringIO()):
            demo.seed()  # its welcome e-mail goes to the outbox; not to this console
        clock.freeze(time.time())
        server = LiveServer(app, port)
        if (out / "img").exists():
            shutil.rmtree(out / "img")
        camera = Camera(driver, out)
        parent = Parent(driver, app.config["IDP_ISSUER"], username=demo.DEMO_PARENT["username"],
                        org=demo.DEMO_ORG[0])
        parent.email = demo.DEMO_PARENT["email"]
        echo(f"walking the parent's path on {app.config['IDP_ISSUER']}")
        with contextlib.redirect_stderr(io.StringIO()):  # the e-mails the walk sends
            images = walk(parent, camera, Path(app.config["IDP_INSTANCE_DIR"]),
                          app.config["IDP_SESSION_IDLE_TTL"])
        with app.test_request_context():
            text = render_template(
                "handbook/README.md", images=images, brand=app.config["IDP_BRAND"],
                organisation=" ".join(demo.DEMO_ORG), username=demo.DEMO_PARENT["username"],
                idle_minutes=app.config["IDP_SESSION_IDLE_TTL"] // 60,
                activation_days=app.config["IDP_ACTIVATION_TTL"] // 86400,
                reset_minutes=app.config["IDP_PASSWORD_RESET_TTL"] // 60,
                min_length=app.config["IDP_PASSWORD_MIN_LENGTH"],
                helpdesk_url=app.config["IDP_HELPDESK_URL"],
            )
        out.mkdir(parents=True, exist_ok=True)
        (out / "README.md").write_text(text.rstrip() + "\n", encoding="utf-8")
        return [out / "README.md"] + [out / path for path in images.values()]
    finally:
        logging.getLogger().setLevel(root_level)
        clock.unfreeze()
        if server:
            server.stop()
        chrome.stop(driver)
        shutil.rmtree(folder, ignore_errors=True)
