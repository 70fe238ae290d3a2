"""Sign in (name and password for a bearer token), who am I, sign out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from pydantic import BaseModel

from service.api.deps import TOKEN_COOKIE, SignedIn, StoreDep
from service.api.errors import ApiError, responses
from service.api.schemas import UserOut, user_out

router = APIRouter(prefix="/auth", tags=["auth"])


class TokenOut(BaseModel):
    """A bearer token and whose it is."""

    access_token: str
    token_type: str = "bearer"
    user: UserOut


@router.post(
    "/token",
    response_model=TokenOut,
    responses=responses(401, 422),
    summary="Sign in: a bearer token for a name and password",
)
def token(
    store: StoreDep,
    username: Annotated[str, Form(min_length=1, max_length=100)],
    password: Annotated[str, Form(min_length=1, max_length=200)],
) -> TokenOut:
    """OAuth2's password form; send the token back as ``Authorization: Bearer TOKEN``."""
    user = store.check_password(username, password)
    if user is None:
        raise ApiError(401, "wrong name or password", headers={"WWW-Authenticate": "Bearer"})
    store.audit(user, "auth.sign_in", f"user:{user.id}")
    return TokenOut(access_token=store.issue_token(user.id, label="sign-in"), user=user_out(user))


@router.get("/me", response_model=UserOut, responses=responses(401), summary="Who am I")
def me(user: SignedIn) -> UserOut:
    """Return the signed-in user."""
    return user_out(user)


@router.post("/logout", status_code=204, responses=responses(401), summary="Revoke the token used")
def logout(request: Request, user: SignedIn, store: StoreDep) -> None:
    """Revoke the token this request was signed with."""
    header = request.headers.get("authorization", "")
    tok = header[7:] if header.lower().startswith("bearer ") else request.cookies.get(TOKEN_COOKIE)
    if tok:
        store.revoke_token(tok)
    store.audit(user, "auth.sign_out", f"user:{user.id}")
