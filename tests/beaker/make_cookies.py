"""Cookies made by the real Python Beaker, for tests/beaker.rs.

Run with the interpreter of the virtual environment scripts/install-beaker.sh makes. Prints one
JSON object on stdout:

    {"beaker": "<version>", "now": <time.time()>, "cases": [case, ...]}

where each case is

    {"desc": "...", "settings": {BeakerSettings as JSON}, "value": "<cookie value>",
     "expect": "ok" | ["<rejection code>", ...], "entries": {...}?, ...}

`settings` are the reader's settings (the Rust `BeakerSettings`, deserialized as they are);
`value` is the cookie value exactly as Beaker put it in its Set-Cookie header. Every cookie is
made by Beaker's own CookieSession over a request dict, as Beaker's own tests do; only the
tampered ones are altered afterwards.
"""
import json
import sys
import time
from unittest import mock

import beaker
from beaker.session import CookieSession

VALIDATE_KEY = "legacy-validate-key-from-production.ini"
OTHER_VALIDATE_KEY = "some-other-site-validate-key"
ENCRYPT_KEY = "legacy-encrypt-key-from-production.ini"
OTHER_ENCRYPT_KEY = "not-the-encrypt-key"

# What the application kept in its Beaker session. `_csrft_` is Pyramid's CSRF token key: an
# application's underscore key, which the reader must keep (only Beaker's own are dropped).
ENTRIES = {
    "user": "ann",
    "count": 7,
    "prefs": {"theme": "dark", "langs": ["en", "fr"]},
    "name": "Zo\u00eb \u2603",
    "_csrft_": "0123456789abcdef",
}


def make(serializer="json", at=None, extra=None, **options):
    """Save a new CookieSession holding ENTRIES; return (name, value, attributes)."""
    request = {"cookie": ""}
    options.setdefault("validate_key", VALIDATE_KEY)

    def build():
        session = CookieSession(request, data_serializer=serializer, **options)
        session.update(ENTRIES)
        if extra:
            session.update(extra)
        session.save()

    if at is None:
        build()
    else:
        # CookieSession stamps `_creation_time` and `_accessed_time` with time.time().
        with mock.patch("time.time", return_value=at):
            build()
    header = request["cookie_out"].strip()
    first, _, rest = header.partition(";")
    name, _, value = first.partition("=")
    attributes = [a.strip() for a in rest.split(";") if a.strip()]
    return name, value, attributes


def settings(validate_key=VALIDATE_KEY, **kw):
    out = {"validate_key": validate_key}
    out.update({k: v for k, v in kw.items() if v is not None})
    return out


def flip(value, index):
    """The cookie value with one base64 or hex character changed."""
    c = value[index]
    repl = "b" if c != "b" else "c"
    return value[:index] + repl + value[index + 1:]


def main():
    now = time.time()
    cases = []

    def ok(desc, value, reader, **more):
        case = {"desc": desc, "settings": reader, "value": value, "expect": "ok",
                "entries": ENTRIES}
        case.update(more)
        cases.append(case)

    def bad(desc, value, reader, *codes, **more):
        case = {"desc": desc, "settings": reader, "value": value, "expect": list(codes)}
        case.update(more)
        cases.append(case)

    enc_gcm = dict(encrypt_key=ENCRYPT_KEY, crypto_type="cryptography")
    enc_ctr = dict(encrypt_key=ENCRYPT_KEY, crypto_type="pycryptodome")
    reader_gcm = settings(encrypt_key=ENCRYPT_KEY, crypto="cryptography")
    reader_ctr = settings(encrypt_key=ENCRYPT_KEY, crypto="pycryptodome")

    # The three formats a JSON site can have.
    _, plain, _ = make()
    ok("unencrypted JSON", plain, settings())
    _, gcm, _ = make(**enc_gcm)
    ok("encrypted, cryptography backend (AES-256-GCM)", gcm, reader_gcm)
    _, ctr, _ = make(**enc_ctr)
    ok("encrypted, pycryptodome backend (AES-256-CTR)", ctr, reader_ctr)
    ok("pycryptodome under its old name pycrypto", ctr,
       settings(encrypt_key=ENCRYPT_KEY, crypto="pycrypto"))

    # Name, Path and Domain as Beaker set them; the payload records _path and _domain too.
    name, custom, attrs = make(key="legacy_sid", cookie_path="/app", cookie_domain="example.com")
    ok("custom cookie name, Path and Domain", custom,
       settings(cookie_name="legacy_sid", path="/app", domain="example.com"),
       cookie_name=name, attributes=attrs, cookie_path="/app", cookie_domain="example.com")

    # Timeout, counted from `_accessed_time`.
    _, fresh, _ = make(timeout=3600)
    ok("within the legacy timeout", fresh, settings(timeout=3600), accessed=now)
    _, stale, _ = make(timeout=3600, at=now - 7200)
    bad("written two hours ago, timeout one hour", stale, settings(timeout=3600), "expired")
    ok("the same stale cookie without a timeout (Beaker never expires it then)", stale,
       settings(), accessed=now - 7200)
    _, stale_gcm, _ = make(timeout=600, at=now - 601, **enc_gcm)
    bad("encrypted and past the timeout", stale_gcm,
        settings(encrypt_key=ENCRYPT_KEY, crypto="cryptography", timeout=600), "expired")

    # Beaker up to 1.13 kept `_expires` (true through the JSON serializer) in the dict.
    _, with_expires, _ = make(extra={"_expires": True})
    ok("with Beaker 1.13's _expires", with_expires, settings())

    # Quoting: Beaker strips double quotes around a value it reads.
    ok("the value in double quotes", '"%s"' % plain, settings())

    # Tampering and foreign keys.
    bad("payload altered", flip(plain, 60), settings(), "bad_signature")
    bad("signature altered", flip(plain, 5), settings(), "bad_signature")
    bad("signature truncated", plain[1:], settings(), "bad_signature")
    bad("encrypted payload altered", flip(gcm, 70), reader_gcm, "bad_signature")
    _, foreign, _ = make(validate_key=OTHER_VALIDATE_KEY)
    bad("signed with another validate_key", foreign, settings(), "bad_signature")
    _, foreign_gcm, _ = make(validate_key=OTHER_VALIDATE_KEY, **enc_gcm)
    bad("encrypted under another validate_key", foreign_gcm, reader_gcm, "bad_signature")
    bad("another encrypt_key, cryptography", gcm,
        settings(encrypt_key=OTHER_ENCRYPT_KEY, crypto="cryptography"), "bad_tag")
    # CTR has no tag: the wrong key yields random bytes, which are not zlib (or, one time in
    # 256, start with pickle's 0x80 and are refused as a pickle).
    bad("another encrypt_key, pycryptodome", ctr,
        settings(encrypt_key=OTHER_ENCRYPT_KEY, crypto="pycryptodome"), "decode", "pickle")
    bad("pycryptodome cookie read as cryptography", ctr, reader_gcm, "bad_tag")
    bad("encrypted cookie, reader without encrypt_key", gcm, settings(), "malformed")

    # Pickle, Beaker's default serializer: refused unread, encrypted or not.
    _, pickled, _ = make(serializer="pickle")
    bad("pickle", pickled, settings(), "pickle")
    _, pickled_gcm, _ = make(serializer="pickle", **enc_gcm)
    bad("pickle, cryptography", pickled_gcm, reader_gcm, "pickle")
    _, pickled_ctr, _ = make(serializer="pickle", **enc_ctr)
    bad("pickle, pycryptodome", pickled_ctr, reader_ctr, "pickle")

    json.dump({"beaker": beaker.__version__, "now": now, "cases": cases}, sys.stdout)


if __name__ == "__main__":
    main()
