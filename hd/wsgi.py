"""WSGI entry point: `gunicorn -c hd/gunicorn.conf.py hd.wsgi:app`."""
from hd import create_app

app = create_app()
