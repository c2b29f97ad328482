"""An integrator's first steps, through a client generated from the OpenAPI document only."""
import os
import uuid

from delivr_cm_partner_api_client import AuthenticatedClient
from delivr_cm_partner_api_client.api.orders import cancel_order, create_order, get_order, list_orders
from delivr_cm_partner_api_client.models import CancelRequest, OrderCreate, Person
from delivr_cm_partner_api_client.types import Response

client = AuthenticatedClient(
    base_url=os.environ["BASE"] + "/api/v1", token=os.environ["KEY"], prefix="Api-Key", raise_on_unexpected_status=True
)
key = str(uuid.uuid4())
body = OrderCreate(
    dropoff_city="Douala",
    dropoff_quartier="Bonamoussadi",
    dropoff_address="Derrière la pharmacie du Carrefour",
    recipient=Person(name="Paul Nkwi", phone="677 98 76 54"),
    package_description="Chaussures",
    cod_amount=15000,
)
first: Response = create_order.sync_detailed(client=client, body=body, idempotency_key=key)
assert first.status_code == 201, first
again: Response = create_order.sync_detailed(client=client, body=body, idempotency_key=key)
assert again.status_code == 201 and again.parsed.id == first.parsed.id, "a retry with the key is the same order"
order = first.parsed
page = list_orders.sync(client=client, limit=5)
assert any(o.id == order.id for o in page.data), "the new order is listed"
fetched = get_order.sync(client=client, id=order.tracking_number)
assert fetched.id == order.id
cancelled = cancel_order.sync(client=client, id=order.id, body=CancelRequest(reason="Client absent"), idempotency_key=str(uuid.uuid4()))
assert cancelled.status.value == "CANCELLED", cancelled.status  # an enum, from the document
print(f"generated client: created {order.tracking_number} once with its key, listed, fetched, cancelled")
