"""alerts pages (placeholder: being built)."""

from fastapi import APIRouter

router = APIRouter()
