"""The WSGI app test_gunicorn serves: /sleep?s=SECONDS sleeps (time.sleep,
green under GuvWorker) and answers with the worker's pid, the client's port
and how many requests were in progress at once; /stats returns and resets
the most seen (and how many are in progress now)."""
import json
import os
import time
from urllib.parse import parse_qs

in_progress = 0
most = 0


def app(environ, start_response):
    global in_progress, most
    if environ["PATH_INFO"] == "/stats":
        body, most = {"most": most, "in_progress": in_progress}, 0
    else:
        in_progress += 1
        most = max(most, in_progress)
        try:
            time.sleep(float(parse_qs(environ["QUERY_STRING"]).get("s", ["0"])[0]))
        finally:
            in_progress -= 1
        body = {"pid": os.getpid(), "port": int(environ["REMOTE_PORT"]), "sleep": time.sleep.__module__}
    data = json.dumps(body).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]
