"""``python -m examples.seed [--host H] [--port P]``: print the routes to try, then serve the app.

This is what ``make run`` runs. It needs only the package and uvicorn.
"""

import argparse

import uvicorn

ROUTES = """\
examples/seed: JWT sessions on http://{host}:{port}  (Ctrl-C stops)

Try it with curl (the cookie jar `jar` keeps the session cookies between calls):

  # log in: 200 and two cookies, access_token (JWS, 15 min) and refresh_token (JWE, 7 days)
  curl -i -c jar -b jar -X POST {url}/login \\
       -H 'content-type: application/json' -d '{{"username": "alice", "password": "secret"}}'

  # logged in already: the same two sessions, no body needed
  curl -i -c jar -b jar -X POST {url}/login

  # the access session's user and scope (401 without a session)
  curl -i -c jar -b jar {url}/profile

  # log out: the answer deletes both cookies (curl 7.88 keeps the access cookie in its jar
  # anyway: rm jar to start over; browsers drop both)
  curl -i -c jar -b jar -X POST {url}/logout
"""


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m examples.seed", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    shown = f"[{args.host}]" if ":" in args.host else args.host
    print(ROUTES.format(host=shown, port=args.port, url=f"http://{shown}:{args.port}"), flush=True)
    uvicorn.run("examples.seed.app:app", host=args.host, port=args.port)


if __name__ == "__main__":
    main()
