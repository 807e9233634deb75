#!/usr/bin/python3
"""FastAPI + uvicorn baseline for bench/http_auth.sh.

The same two endpoints wtcd serves (/health and an authenticated
/api/v1/auth/session), written the way the seed systems wrote them:
`async def` handlers, one uvicorn worker, access log off, and bearer tokens
checked against an in-memory dict (no database, no hashing on the hot path),
so the comparison measures the stack, not storage.

Run with Debian's packages (plain `python3` may be a pyenv shim that cannot see them):

    /usr/bin/python3 bench/peers/fastapi_auth.py --port 8001

Environment: BENCH_ADMIN_PASSWORD (default "bench-admin-pw"),
BENCH_SESSION_TTL seconds (default 3600).
"""

import argparse
import hmac
import os
import secrets
import time
from datetime import datetime, timezone
from typing import Optional

import uvicorn
from fastapi import FastAPI, Header, HTTPException
from pydantic import BaseModel

SESSION_TTL_S = int(os.environ.get("BENCH_SESSION_TTL", "3600"))

# username -> (password, role). Plain text on purpose: the benchmark is about
# the session check, and the login is done once per run.
USERS = {
    "admin": (os.environ.get("BENCH_ADMIN_PASSWORD", "bench-admin-pw"), "admin"),
}

# token -> session dict (username, role, created_at, expires_at as epoch seconds,
# last_activity, ip_address).
SESSIONS: dict = {}

app = FastAPI(title="wtc-bench-fastapi-peer")


def iso(ts: float) -> str:
    """ISO 8601 UTC with milliseconds, like wtcd's format_iso8601."""
    dt = datetime.fromtimestamp(ts, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


class LoginRequest(BaseModel):
    username: str
    password: str


@app.get("/health")
async def health():
    # Same shape as wtcd's /health: a database probe result and the controller link.
    return {
        "status": "ok",
        "subsystems": {
            "database": {"status": "ok", "latency_ms": 0.1, "backend": "memory"},
            "ipc": {"status": "ok", "controller_connected": True},
        },
    }


@app.get("/health/live")
async def live():
    return {"status": "alive"}


@app.post("/api/v1/auth/login")
async def login(body: LoginRequest):
    user = USERS.get(body.username)
    if user is None or not hmac.compare_digest(user[0], body.password):
        raise HTTPException(status_code=401, detail="invalid username or password")
    now = time.time()
    token = secrets.token_hex(32)  # 64 hex characters, like wtcd's tokens
    SESSIONS[token] = {
        "username": body.username,
        "role": user[1],
        "created_at": now,
        "expires_at": now + SESSION_TTL_S,
        "last_activity": now,
        "ip_address": "127.0.0.1",
    }
    return {
        "token": token,
        "token_type": "bearer",
        "username": body.username,
        "role": user[1],
        "created_at": iso(now),
        "expires_at": iso(now + SESSION_TTL_S),
        "expires_in": SESSION_TTL_S,
    }


@app.get("/api/v1/auth/session")
async def session(authorization: Optional[str] = Header(default=None)):
    if not authorization or not authorization.startswith("Bearer "):
        raise HTTPException(status_code=401, detail="missing bearer token",
                            headers={"WWW-Authenticate": "Bearer"})
    token = authorization[7:].strip()
    s = SESSIONS.get(token)
    now = time.time()
    if s is None or s["expires_at"] <= now:
        if s is not None:
            SESSIONS.pop(token, None)
        raise HTTPException(status_code=401, detail="invalid or expired token",
                            headers={"WWW-Authenticate": "Bearer"})
    # wtcd's session manager records activity on each validation: do the same.
    s["last_activity"] = now
    return {
        "username": s["username"],
        "role": s["role"],
        "created_at": iso(s["created_at"]),
        "expires_at": iso(s["expires_at"]),
        "last_activity": iso(s["last_activity"]),
        "ip_address": s["ip_address"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args()
    # One worker, no access log, loop/http "auto": uvicorn picks uvloop/httptools
    # when installed and falls back to asyncio/h11 otherwise (Debian 12 has neither
    # uvloop nor httptools packaged for python3, so this is asyncio + h11).
    uvicorn.run(app, host=args.host, port=args.port, workers=1, access_log=False,
                loop="auto", http="auto", log_level="warning")


if __name__ == "__main__":
    main()
