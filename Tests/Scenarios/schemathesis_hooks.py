"""schemathesis hooks for api-schemathesis.sh: XML bodies judged as the server reads them.

XML text carries no types. A negative case that only changes a field's type
(the number 5 where text belongs, `null`, `"true"` for a boolean) is, once
written as XML, the same document as a valid one, and the server rightly
accepts it. schemathesis already allows for this with form bodies
(`_form_body_is_valid_as_sent` in its checks), not yet with XML. This hook
does the same for XML: a "schema-violating request accepted" failure on an
XML body is dropped only when the document actually sent, each field read
as its text or as the JSON value that text spells (as the server's field
reader converts it), satisfies the documented schema. Anything else it
accepted stays a failure. With STRATA_HOOKS_LOG=FILE each dropped request
is written to FILE, to be read.
"""

import json
import os
import xml.etree.ElementTree as ElementTree

import jsonschema_rs
import schemathesis
from schemathesis.core.failures import AcceptedNegativeData
from schemathesis.core.parameters import ParameterLocation


@schemathesis.hook
def filter_failure(context, failure, case, response):
    if not isinstance(failure, AcceptedNegativeData) or case.media_type != "application/xml":
        return True
    if _negated_outside_body(case) or not _valid_as_read(case, response):
        return True
    if os.environ.get("STRATA_HOOKS_LOG"):
        with open(os.environ["STRATA_HOOKS_LOG"], "a") as log:
            log.write(f"{case.method} {case.path}: {response.request.body!r}\n")
    return False


def _negated_outside_body(case):
    """Whether the path, query, headers or cookies were made invalid too: then the failure stands."""
    meta = case.meta
    if meta is None:
        return True
    return any(
        location != ParameterLocation.BODY and component.mode.is_negative for location, component in meta.components.items()
    )


def _valid_as_read(case, response):
    body = response.request.body
    if not isinstance(body, bytes):
        return False
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        return False
    alternative = case.operation.get_body_for_media_type("application/xml")
    if alternative is None:
        return False
    # As documented (the generation schema has patterns rewritten for drawing values).
    schema = alternative.validation_schema
    try:
        validator = jsonschema_rs.Draft202012Validator(schema)
    except Exception:
        return False
    required = set(schema.get("required", []))
    sent = {}
    for child in root:
        text = child.text or ""
        if text == "" and child.tag not in required:
            continue  # an empty optional field reads as absent
        readings = [text]
        try:
            readings.append(json.loads(text))
        except ValueError:
            pass
        sent[child.tag] = next(
            (reading for reading in readings if not _errors_at(validator, {**sent, child.tag: reading}, child.tag)),
            readings[0],
        )
    return validator.is_valid(sent)


def _errors_at(validator, instance, name):
    return any(list(error.instance_path[:1]) == [name] for error in validator.iter_errors(instance))
