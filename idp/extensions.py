"""The app-wide singletons: database, CSRF protection, and accessors for the store and box."""

from flask import current_app
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


db = SQLAlchemy(model_class=Base)
csrf = CSRFProtect()


def store():
    """The ephemeral store (idp.store) of the current app."""
    return current_app.extensions["idp.store"]


def secret_box():
    """The SecretBox (idp.crypto) that encrypts secrets at rest."""
    return current_app.extensions["idp.secret_box"]
