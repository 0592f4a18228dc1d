"""The admins' erasure of a reader's personal data (crypto-shredding), by phone number."""

from __future__ import annotations

from service.web.openapi.building import BODY_ERRORS, Json, integer, nullable, obj, operation, response, string


def schemas() -> Json:
    return {
        "ErasureRequest": obj({"phone": string("The reader's phone number, in any usual spelling.")}, closed=False),
        "Erasure": obj(
            {
                "subject_id": nullable(
                    string("The random id standing for the number; SubjectErased events name it. Null: none held.")
                ),
                "erased": {
                    "type": "boolean",
                    "description": "False when nothing readable was held (unknown, or erased before): nothing changed.",
                },
                "comments": integer(0, description="Comments whose personal data this erasure made unreadable."),
            }
        ),
    }


def paths() -> Json:
    return {
        "/api/v1/moderation/erasures": {
            "post": operation(
                "eraseSubject",
                "Erase a reader's personal data, by phone number",
                "moderation",
                {"202": response("Erased (or nothing was held).", "Erasure"), **BODY_ERRORS},
                description="Deletes the data key of the number's subject (crypto-shredding) and records "
                "SubjectErased: every comment by that number reads `(erased)` in the queue, the published list and "
                "the audit history, and the log still verifies. Idempotent.",
                body="ErasureRequest",
                role="admin",
            )
        },
    }
