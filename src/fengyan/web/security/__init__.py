"""Authentication and request security: passwords, sessions, CSRF, lock-out, API tokens.

* :mod:`.passwords` — argon2id hashing (pwdlib) and the length policy;
* :mod:`.secrets` — random tokens and their stored digests;
* :mod:`.sessions` — server-side browser sessions (only the token's digest is stored);
* :mod:`.csrf` — the CSRF check for unsafe cookie-authenticated requests;
* :mod:`.accounts` — one function per account change (create, lock, unlock, role, scope,
  tokens) and the login itself, each writing its audit entry in the same transaction;
* :mod:`.ratelimit` — per-client request budgets (login, public check).
"""
