"""The API's documentation at /docs: Swagger UI, with its files served from here so that it works
offline, and the OpenAPI schema with /api/predict's entry, written by hand because FastAPI writes the
schema for its own routes only and /api/predict is a plain ASGI endpoint (app.py)."""
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.staticfiles import StaticFiles


def add_docs(app):
    """Serve /docs and its files on `app`, and list /api/predict in the app's /openapi.json."""

    @app.get("/docs", include_in_schema=False)
    async def docs():
        return get_swagger_ui_html(openapi_url="/openapi.json", title="digitnet API",
                                   swagger_js_url="/docs-files/swagger-ui-bundle.js",
                                   swagger_css_url="/docs-files/swagger-ui.css",
                                   swagger_favicon_url="data:,")              # an empty icon: none to fetch

    from swagger_ui_bundle import swagger_ui_path          # Swagger UI's files, so that /docs works offline
    app.mount("/docs-files", StaticFiles(directory=str(swagger_ui_path)), name="docs-files")
    app.openapi_version = "3.0.3"     # that bundle is Swagger UI 4, which cannot render OpenAPI 3.1, FastAPI's default
    amend_schema(app)


def amend_schema(app):
    """Corrections to the OpenAPI schema FastAPI writes (FastAPI's guide, "Extend OpenAPI"): list
    /api/predict, since FastAPI lists its own routes only, give /api/collect the body it reads by
    hand, and say 400 {"error": ...} where FastAPI
    says 422 {"detail": [...]}, since refusals.py answers a bad path parameter that way."""
    schema = app.openapi

    def openapi():
        if app.openapi_schema is None:
            spec = schema()
            spec["paths"]["/api/predict"] = {"post": PREDICT_DOCS}
            spec["paths"]["/api/collect"]["post"].update(COLLECT_DOCS)      # its body is read by hand too
            for operation in (op for ops in spec["paths"].values() for op in ops.values()):
                if operation["responses"].pop("422", None) is not None:
                    operation["responses"]["400"] = {"description": "a parameter that is not a whole number: "
                                                                    "{\"error\": \"...\"}"}
            for name in ("HTTPValidationError", "ValidationError"):
                spec.get("components", {}).get("schemas", {}).pop(name, None)
        return app.openapi_schema
    app.openapi = openapi


PREDICT_DOCS = {"summary": "Read a digit", "operationId": "predict", "responses": {
    "200": {"description": "prediction, probabilities, input (28x28), hidden activations, milliseconds"},
    "400": {"description": "a body the API cannot read: {\"error\": \"...\"}"},
    "413": {"description": "a body over 2 MB"}}, "requestBody": {"required": True, "content": {
    "application/json": {"schema": {"oneOf": [
        {"type": "object", "properties": {"image": {"type": "string", "example": "data:image/png;base64,..."}},
         "required": ["image"]},
        {"type": "object", "properties": {"pixels": {"type": "array", "items": {"type": "array",
                                                                              "items": {"type": "number"}}}},
         "required": ["pixels"]}]}},
    "multipart/form-data": {"schema": {"type": "object", "properties": {"file": {"type": "string",
                                                                                 "format": "binary"}}}}}}}


COLLECT_DOCS = {"responses": {
    "200": {"description": "saved: {\"saved\": the file's path, \"label\": the digit}"},
    "400": {"description": "a body the API cannot read, a label that is not 0 to 9, an image that is not a "
                           "PNG or JPEG: {\"error\": \"...\"}"},
    "404": {"description": "collecting is off: the server was started without --collect DIR"},
    "413": {"description": "a body over 2 MB"},
    "500": {"description": "the server could not write the file"}}, "requestBody": {"required": True, "content": {
    "application/json": {"schema": {"type": "object", "required": ["image", "label"], "properties": {
        "image": {"type": "string", "example": "data:image/png;base64,..."},
        "label": {"type": "integer", "minimum": 0, "maximum": 9, "example": 7}}}}}}}
