"""The WSGI entry point, inside the package so an installed wheel has it:
``python -m idp.granian_server`` (the image's command), ``gunicorn -c gunicorn.conf.py
idp.wsgi:app`` (the fallback; or ``wsgi:app`` in the checkout) or ``flask --app idp.wsgi run``.

idp.granian_server and gunicorn.conf.py load this module in the master, before it forks the
workers, and start the in-process worker thread in each worker themselves (a thread does not
survive a fork).
"""

from idp import create_app, serving, worker

app = create_app()
if worker.wanted_in_process(app) and not serving.preloaded():
    worker.start_thread(app)
