"""The ``litestar-jwtsession`` command: generate keys, publish their public JWK Set, inspect tokens.

.. code-block:: text

    litestar-jwtsession keygen --alg ES256 --out access.jwk      # private JWK, file mode 0600
    litestar-jwtsession keygen --alg RS256 --format pem -o a.pem  # PKCS#8 PEM
    litestar-jwtsession jwks access.jwk                           # public JWK Set on stdout
    litestar-jwtsession inspect eyJhbGciOi...                     # header (+ unverified payload)

Also runnable as ``python -m litestar_jwtsession.cli`` (a package, so that running it does not
import it twice: the package root imports it for the Litestar CLI group). It works on files and
tokens alone and imports only the JOSE layer (an import-linter contract keeps it so). The Litestar
CLI group ``litestar jwtsession ...``, which works on an app's own configs, is
:mod:`litestar_jwtsession.integration.cli`.
"""

from litestar_jwtsession.cli.commands import NOT_VERIFIED, cli, main

__all__ = ("NOT_VERIFIED", "cli", "main")
