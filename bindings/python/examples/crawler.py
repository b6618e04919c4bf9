"""Fetch many URLs at once with a GreenPool and requests (made cooperative
by monkey_patch).

    python crawler.py                    # crawls a local server it starts itself
    python crawler.py URL [URL ...]      # crawls those

The local server answers each page after 0.2 s: 20 pages fetched 20 at a
time take about 0.2 s, not 4 s."""
import sys
import time

import guv

guv.monkey_patch()

import guv.wsgi  # noqa: E402
import requests  # noqa: E402


def slow_page(environ, start_response):
    guv.sleep(0.2)  # a slow backend
    body = f"page {environ['PATH_INFO']}\n".encode() * 100
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]


def fetch(session, url):
    response = session.get(url, timeout=10)
    response.raise_for_status()
    return url, len(response.content)


def main(urls):
    if not urls:
        listener = guv.listen(("127.0.0.1", 0))
        guv.spawn(guv.wsgi.serve, listener, slow_page)
        port = listener.getsockname()[1]
        urls = [f"http://127.0.0.1:{port}/{i}" for i in range(20)]
    pool = guv.GreenPool(20)
    session = requests.Session()
    start = time.monotonic()
    for url, size in pool.imap(lambda url: fetch(session, url), urls):
        print(f"{url}: {size} bytes")
    print(f"{len(urls)} pages in {time.monotonic() - start:.2f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
