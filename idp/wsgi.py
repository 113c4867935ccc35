"""The WSGI entry point, inside the package so an installed wheel has it:
``gunicorn -c gunicorn.conf.py idp.wsgi:app`` (or ``wsgi:app`` in the checkout) or
``flask --app idp.wsgi run``.

gunicorn.conf.py (and idp.granian_server) load this module in the master, before it forks the
workers, and start the in-process worker thread in each worker themselves (a thread does not
survive a fork).
"""

from idp import create_app, serving, worker

app = create_app()
if worker.wanted_in_process(app) and not serving.preloaded():
    worker.start_thread(app)
