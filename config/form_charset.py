"""Form bodies are UTF-8: any other declared charset is a 400, answered once.

Called for every request, before CSRF (settings.MIDDLEWARE). Django (since
5.0, ticket #34709) raises BadRequest from `request.POST` for an
`application/x-www-form-urlencoded` body with a charset other than UTF-8,
but unlike its multipart branch it does not mark the body as parsed. Its
400 handler runs under `requires_csrf_token`, whose check reads
`request.POST` again, and so on: each such login, admin or logout POST
carrying any `csrftoken` cookie was a 500 and a ~37 KB chained traceback
at ERROR. Refused here, before anything reads the form, it is a plain 400
(logged as a client error, without a traceback).

Multipart bodies too: Django decodes their fields with the declared
charset, so a slow codec (`punycode`) would cost CPU there. No browser
sends a charset on either form type.
"""

from django.http import HttpResponseBadRequest
from django.utils.deprecation import MiddlewareMixin

FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


def is_utf8(charset):
    """The one spelling Django itself lets through (any case)."""
    return charset.lower() == "utf-8"


class FormCharsetMiddleware(MiddlewareMixin):
    def process_request(self, request):
        charset = request.content_params.get("charset")
        if request.content_type in FORM_TYPES and charset is not None and not is_utf8(charset):
            return HttpResponseBadRequest(
                f"Form bodies must be UTF-8, not {charset[:40]}.", content_type="text/plain"
            )
        return None
