"""`make up`: the local stack on loopback."""

from backend.settings.base import *  # noqa: F403
from backend.settings.env import env_bool

DEBUG = env_bool("DEBUG")
