"""Every prompt to the model is redacted before it is queued: the job row and the model see masks, never the
customer's email or phone number."""

from django_tenants.utils import schema_context

from inference.services import generate_request


def test_a_prompt_with_personal_data_is_queued_masked(acme):
    with schema_context("acme"):
        job, _ = generate_request(actor="user:acme-analyst", tenant=acme, max_new_tokens=8,
                                  prompt="Reply to jane.doe+promo@example.com or call (415) 555-0132 about her order",
                                  system="The shopper's card is 4111 1111 1111 1111.")

    assert job.params["prompt"] == "Reply to [EMAIL] or call [PHONE] about her order"
    assert job.params["system"] == "The shopper's card is [CARD]."
