"""The app the Litestar CLI tests run ``litestar --app tests.cli.jwtsession_app:app jwtsession ...`` on.

Three sessions, one of each kind the commands treat differently: a JWS access session with an
ES256 key pair (publishable), a JWE refresh session with an A256KW key (never published, payload
never shown without ``--show-payload``) and a JWS session with an HS256 key (symmetric: never
published). The keys come from the JSON file named by ``$JWTSESSION_CLI_TEST_KEYS``, which the
tests write before the app is loaded, so the test process and a ``litestar`` subprocess share them.
"""

import json
import os
from pathlib import Path
from typing import Any

from litestar import Litestar, Request, post

from litestar_jwtsession import (
    JWESessionConfig,
    JWSSessionConfig,
    JWTSessionPlugin,
    KeyPair,
    use_jwe_session,
    use_jws_session,
)

KEYS_ENV = "JWTSESSION_CLI_TEST_KEYS"


_keys = json.loads(Path(os.environ[KEYS_ENV]).read_text(encoding="utf-8"))

access_config: JWSSessionConfig[Any] = JWSSessionConfig(
    key=KeyPair(private_key=_keys["access"]), name="access_token", max_age="15m"
)
refresh_config: JWESessionConfig[Any] = JWESessionConfig(
    key=_keys["refresh"], name="refresh_token", max_age="7D"
)
internal_config: JWSSessionConfig[Any] = JWSSessionConfig(
    key=_keys["internal"], name="internal", max_age="1h"
)


@post("/login")
async def login(request: Request[Any, Any, Any]) -> None:
    # the refresh session holds a claim its holder must not read
    await (await use_jwe_session(request, refresh_config)).update(
        {"sub": "alice", "device": "kept-from-the-client"}, replace=True
    )
    await (await use_jws_session(request, access_config)).update({"sub": "alice"}, replace=True)


app = Litestar(
    route_handlers=[login],
    plugins=[JWTSessionPlugin(access=access_config, refresh=refresh_config, sessions=[internal_config])],
)
