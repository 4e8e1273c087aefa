"""Every text a person reads, as jinja2 templates per locale, and the renderer that fills them."""

from messages.renderer import LOCALES, Renderer, normalize_locale

__all__ = ["LOCALES", "Renderer", "normalize_locale"]
