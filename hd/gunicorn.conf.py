# gunicorn settings for the HD worker; HD_* variables configure the jobs (hd/jobs.py).
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8600")
# One process: the jobs, their pictures and the slot count live in its memory. Threads
# answer status polls while an optimisation runs on its own thread.
workers = 1
worker_class = "gthread"
threads = 8
timeout = 60
graceful_timeout = 10
accesslog = "-"
errorlog = "-"
