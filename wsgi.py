"""The WSGI entry point: ``gunicorn wsgi:app`` or ``flask --app wsgi run``."""

from idp import create_app, worker

app = create_app()
if worker.wanted_in_process(app):
    worker.start_thread(app)
