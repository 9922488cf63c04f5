"""One `APIRouter` per resource; `gateway.api.app.ROUTERS` lists them in the order they are included."""
